"""Run KCL in-process (kcl-lib, the native KCL core; there is no `kcl` CLI on PyPI).

    python run_kcl.py OUT.json FILE.k...

Compiles the files as one package and writes the JSON result to OUT.json.
"""

import sys

from kcl_lib import api

out, files = sys.argv[1], sys.argv[2:]
result = api.API().exec_program(api.ExecProgramArgs(k_filename_list=files))
if result.err_message:
    sys.stderr.write(result.err_message + "\n")
    sys.exit(1)
with open(out, "w", encoding="utf-8") as f:
    f.write(result.json_result)
