//! qloop speech: offline transcription of drivers' clips (the speech issue).
