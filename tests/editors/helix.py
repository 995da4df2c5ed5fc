#!/usr/bin/env python3
"""Checks editors/helix/languages.toml without Helix (Debian 12 does not package it).

- It is TOML, and uses only the keys Helix documents for `[[language]]` and
  `[language-server.*]` (helix-editor/helix, book/src/languages.md), so a misspelt key,
  which Helix would reject when it loads the file, fails here.
- The `kumo` language matches `*.kumo`, uses `//` and `/* */` comments and the 2-space
  indent of `kumoc fmt`, and names only language servers the file defines.
- The server's command line, as Helix would run it, starts `kumoc lsp`: it answers
  `initialize` over stdio and exits after `shutdown` and `exit`.

Usage: tests/editors/helix.py [KUMOC]   (default: target/debug/kumoc; the binary stands in
for `command` when that is a bare `kumoc`, as PATH would resolve it for a user.)
"""

import json
import os
import subprocess
import sys
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "editors", "helix", "languages.toml")

LANGUAGE_KEYS = {
    "name", "language-id", "scope", "injection-regex", "file-types", "shebangs", "roots",
    "auto-format", "diagnostic-severity", "comment-token", "comment-tokens",
    "block-comment-tokens", "indent", "language-servers", "grammar", "formatter", "soft-wrap",
    "text-width", "rulers", "path-completion", "word-completion", "workspace-lsp-roots",
    "persistent-diagnostic-sources",
}
SERVER_KEYS = {"command", "args", "config", "timeout", "environment", "required-root-patterns"}

failures = []
passed = 0


def check(cond, msg):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(msg)


def lsp_roundtrip(argv):
    """initialize, initialized, shutdown, exit over stdio, each request awaiting its answer as
    a client does; returns ({id: response}, exit code, stderr)."""
    def send(proc, msg):
        body = json.dumps(msg).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        proc.stdin.flush()

    def answer(proc, want_id):
        while True:
            length = None
            while True:
                line = proc.stdout.readline()
                if not line:
                    return None
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(proc.stdout.read(length or 0))
            if msg.get("id") == want_id and "method" not in msg:
                return msg

    root = os.path.join(REPO, "examples", "example-com")
    results = {}
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        try:
            send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                        "params": {"processId": None, "rootUri": "file://" + root, "capabilities": {}}})
            results[1] = answer(proc, 1)
            if results[1] is not None:
                send(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
                send(proc, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
                results[2] = answer(proc, 2)
                send(proc, {"jsonrpc": "2.0", "method": "exit"})
            proc.stdin.close()
            code = proc.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            proc.kill()
            code = proc.wait()
        stderr = proc.stderr.read().decode(errors="replace")
    return {k: v for k, v in results.items() if v is not None}, code, stderr


def main():
    kumoc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target", "debug", "kumoc")
    with open(CONFIG, "rb") as f:
        config = tomllib.load(f)

    top = {"language", "language-server", "grammar", "use-grammars"}
    check(set(config) <= top, f"top-level keys Helix does not know: {sorted(set(config) - top)}")
    languages = config.get("language", [])
    servers = config.get("language-server", {})
    kumo = [lang for lang in languages if lang.get("name") == "kumo"]
    check(len(kumo) == 1, f"expected one [[language]] named kumo, found {len(kumo)}")
    for lang in languages:
        unknown = set(lang) - LANGUAGE_KEYS
        check(not unknown, f"[[language]] {lang.get('name')}: keys Helix does not know: {sorted(unknown)}")
    for name, server in servers.items():
        unknown = set(server) - SERVER_KEYS
        check(not unknown, f"[language-server.{name}]: keys Helix does not know: {sorted(unknown)}")
    if not kumo:
        return
    lang = kumo[0]
    check(lang.get("file-types") == ["kumo"], f"file-types is {lang.get('file-types')}, expected [\"kumo\"]")
    check(lang.get("scope") == "source.kumo", "scope is not source.kumo (the TextMate grammar's scope)")
    comment = lang.get("comment-tokens", lang.get("comment-token"))
    check(comment == "//" or (isinstance(comment, list) and comment[:1] == ["//"]),
          f"the comment token is {comment!r}, expected \"//\"")
    check(lang.get("block-comment-tokens") == {"start": "/*", "end": "*/"},
          f"block-comment-tokens is {lang.get('block-comment-tokens')!r}")
    check(lang.get("indent") == {"tab-width": 2, "unit": "  "},
          f"indent is {lang.get('indent')!r}, expected kumoc fmt's 2 spaces")
    names = [s if isinstance(s, str) else s.get("name") for s in lang.get("language-servers", [])]
    check(names == ["kumoc"], f"language-servers is {names}, expected [\"kumoc\"]")
    for name in names:
        check(name in servers, f"language server {name} is used but not defined")

    server = servers.get("kumoc", {})
    check(server.get("command") == "kumoc" and server.get("args") == ["lsp"],
          f"the kumoc server runs {server.get('command')!r} {server.get('args')!r}, expected kumoc [\"lsp\"]")
    command = server.get("command", "kumoc")
    argv = [kumoc if command == "kumoc" else command, *server.get("args", [])]
    results, code, stderr = lsp_roundtrip(argv)
    init = results.get(1, {})
    capabilities = init.get("result", {}).get("capabilities", {})
    check("textDocumentSync" in capabilities and "completionProvider" in capabilities,
          f"{' '.join(argv)}: no capabilities in the initialize answer: {init}; stderr: {stderr[-2000:]}")
    check(2 in results and "error" not in results[2], f"shutdown failed: {results.get(2)}")
    check(code == 0, f"{' '.join(argv)} exited with {code} after exit; stderr: {stderr[-2000:]}")


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # a parse error or a crash is a failure, reported as one
        failures.append(f"{type(err).__name__}: {err}")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"helix: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
