// qloop's page script: no inline script anywhere (the CSP forbids it), so
// every behaviour is bound here from data attributes.
"use strict";
