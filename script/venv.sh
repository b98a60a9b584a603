# Sourced by the other scripts (not run): VENV_BIN is where .venv keeps its programs, which
# is .venv/Scripts for a Windows Python (CI's windows runners, under bash) and .venv/bin
# everywhere else.
if [ -d .venv/Scripts ]; then
  VENV_BIN=.venv/Scripts
else
  VENV_BIN=.venv/bin
fi
