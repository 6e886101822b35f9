"""Runs a script, or -c code, with extra directories first on sys.path.

`python3 -I` ignores PYTHONPATH, so the directories come as the first argument, a JSON list:
    python3 -I bootstrap.py '["/…/dist-packages"]' script.py [args…]
    python3 -I bootstrap.py '["/…/dist-packages"]' -c 'import jwcrypto' [args…]
"""
import json
import runpy
import sys

sys.path[0:0] = json.loads(sys.argv[1])
if sys.argv[2] == "-c":
    code = sys.argv[3]
    sys.argv = ["-c", *sys.argv[4:]]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
