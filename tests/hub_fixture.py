import hashlib, json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

class HubServer:
    """A model repository served the way the hub's API does it, on 127.0.0.1."""
    def __init__(self, repo_id, folder):
        self.repo_id = repo_id
        self.files = {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}
        self.commit = hashlib.sha1(b"".join(self.files[k] for k in sorted(self.files))).hexdigest()
        self.log = []
        srv = self
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def _send(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers: self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def do_HEAD(self): self.do_GET()
            def do_GET(self):
                srv.log.append((self.command, self.path))
                path = self.path.split("?")[0]
                api = f"/api/models/{srv.repo_id}"
                if path.startswith(api + "/tree/"):
                    tree = [{"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()} for n, d in sorted(srv.files.items())]
                    return self._send(200, json.dumps(tree).encode(), [("Content-Type", "application/json")])
                if path.startswith(api):
                    info = {"id": srv.repo_id, "modelId": srv.repo_id, "sha": srv.commit,
                            "siblings": [{"rfilename": n} for n in sorted(srv.files)]}
                    return self._send(200, json.dumps(info).encode(), [("Content-Type", "application/json")])
                prefix = f"/{srv.repo_id}/resolve/"
                if path.startswith(prefix):
                    rev, _, name = path[len(prefix):].partition("/")
                    if name not in srv.files: return self._send(404, b"", [("X-Error-Code", "EntryNotFound")])
                    data = srv.files[name]
                    return self._send(200, data, [("X-Repo-Commit", srv.commit), ("ETag", '"%s"' % hashlib.sha256(data).hexdigest()),
                                                  ("Content-Type", "application/octet-stream")])
                self._send(404, b"", [("X-Error-Code", "RepoNotFound")])
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
    @property
    def url(self): return f"http://127.0.0.1:{self.httpd.server_address[1]}"
    def __enter__(self): self.thread.start(); return self
    def __exit__(self, *e): self.httpd.shutdown(); self.httpd.server_close()
