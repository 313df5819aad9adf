-- The hazard of a safety case (issue 13): triage names one for every major
-- feedback (`loss_of_braking`, ..., `other`; `qloop_models::Hazard`), and
-- the case keeps the first one it is given
-- (`cloud_triage::domain::hazard::kept`). NULL: none named (not major, or
-- made major by a path that names none).
ALTER TABLE cases ADD COLUMN hazard TEXT;

-- The case list's hazard filter, newest first (as 0013 does for severity).
CREATE INDEX IF NOT EXISTS cases_hazard_newest ON cases (hazard, id);
