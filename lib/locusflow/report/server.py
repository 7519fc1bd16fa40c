"""The HTTP side of ``locusflow serve``: routing, status codes and error pages (standard library only)."""
from __future__ import annotations

import mimetypes
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..logs import get_logger
from .html import esc, page
from .query import QueryError
from .serve import App

log = get_logger("serve")


def _handler(app: App):
    class Handler(BaseHTTPRequestHandler):
        server_version = "locusflow"

        def log_message(self, fmt, *args):          # one logger for the package
            log.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, status, body, ctype="text/html; charset=utf-8", headers=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, status, message):
            title = {400: "Bad request", 403: "Forbidden", 404: "Not found"}.get(status, "Error")
            body = page(f"{status} {title}", str(app.root), [("home", "/")],
                        f"<section><h2>{title}</h2><p class='error' id='error'>{esc(message)}</p></section>")
            self._send(status, body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            try:
                url = urllib.parse.urlsplit(self.path)
                raw = url.path
                path = urllib.parse.unquote(raw)
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                if ".." in path.split("/") or "\x00" in path:
                    raise QueryError("refused: '..' in the path", 403)
                if path in ("/", "/index.html"):
                    self._send(200, app.home(params))
                elif path == "/search":
                    status, headers, body = app.search(params)
                    self._send(status, body, headers=headers)
                elif path == "/locus":
                    self._send(200, app.locus(params))
                elif path == "/embedding":
                    self._send(200, app.embedding(params))
                elif path.startswith("/table/"):
                    status, headers, body = app.table_page(path[len("/table/"):], params)
                    self._send(status, body, headers.pop("Content-Type", "text/html; charset=utf-8"), headers)
                elif path.startswith("/img/") and path[5:] in ("manhattan.png", "locus.png"):
                    self._send(200, app.image(path[5:], params), "image/png")
                elif path == "/report":
                    self._send(200, app.file("report.html").read_bytes())
                elif path.startswith("/files/"):
                    f = app.file(path[len("/files/"):])
                    self._send(200, f.read_bytes(), mimetypes.guess_type(f.name)[0] or "application/octet-stream")
                else:
                    raise QueryError(f"no page {path!r}; try / or /search?q=GENE", 404)
            except QueryError as exc:
                self._error(exc.status, str(exc))
            except Exception as exc:                      # noqa: BLE001 - the user sees one line, the log the rest
                log.exception("serve: %s failed", self.path)
                self._error(500, f"internal error while answering this request ({type(exc).__name__}); see the server log")

    return Handler


def make_server(root, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server over the results at ``root`` (not started; call ``serve_forever``).

    Parameters
    ----------
    root : str or Path
        Results directory.
    host : str
        Interface to bind; 127.0.0.1 (this machine only) by default.
    port : int
        TCP port; 0 picks a free one (``server.server_address[1]``).

    Returns
    -------
    ThreadingHTTPServer
        Bound (not serving), with daemon request threads and the :class:`App` as its ``app`` attribute.

    Raises
    ------
    InputError
        When ``root`` is not a directory.
    """
    app = App(root)
    srv = ThreadingHTTPServer((host, port), _handler(app))
    srv.daemon_threads = True
    srv.app = app
    return srv


def serve(root, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the results at ``root`` until interrupted (Ctrl-C).

    Parameters
    ----------
    root, host : optional
        As :func:`make_server` (results directory; interface, 127.0.0.1 by default).
    port : int
        TCP port; 0 picks a free one (the URL printed at start says which).

    Returns
    -------
    None
        Returns after Ctrl-C, with the socket closed.

    Raises
    ------
    InputError
        When ``root`` is not a directory.
    """
    srv = make_server(root, host, port)
    h, p = srv.server_address[:2]
    print(f"locusflow serve: http://{h}:{p}/ over {srv.app.root} (Ctrl-C to stop)", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
