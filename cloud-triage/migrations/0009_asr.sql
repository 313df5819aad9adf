-- Cloud speech recognition (issue 6). When the head unit sent audio without
-- a transcript, or with one below the policy's confidence, the cloud
-- transcribes the clip. `transcript` then holds the text used for triage and
-- `transcript_source` says whose it is ('head_unit' or 'cloud_asr'); what
-- the head unit said is kept here when the cloud's text replaced it.
ALTER TABLE feedback ADD COLUMN asr_status TEXT;
ALTER TABLE feedback ADD COLUMN asr_model TEXT;
ALTER TABLE feedback ADD COLUMN asr_language TEXT;
ALTER TABLE feedback ADD COLUMN asr_ms BIGINT;
ALTER TABLE feedback ADD COLUMN asr_error TEXT;
ALTER TABLE feedback ADD COLUMN head_unit_transcript TEXT;
ALTER TABLE feedback ADD COLUMN head_unit_confidence DOUBLE PRECISION;
