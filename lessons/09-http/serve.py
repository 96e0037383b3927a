"""The local web server lesson 09's examples fetch from (started and stopped by `make run` and
`make test`, never left running). Python's http.server, speaking HTTP/1.1 with keep-alive.

    python3 serve.py     prints the port it listens on (127.0.0.1, a free one), then serves:
    /                    a small HTML page
    /page/N              page N (0 <= N < 1000): a few lines of text whose length depends on N
    /old                 a redirect (302) to /
"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, with a Content-Length on every response

    def do_GET(self):
        if self.path == "/":
            self.reply(200, "text/html", "<!doctype html>\n<title>aio</title>\n"
                                         "<h1>Hello from a local server</h1>\n")
        elif self.path == "/old":
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/page/") and self.path[6:].isdigit() and int(self.path[6:]) < 1000:
            n = int(self.path[6:])
            self.reply(200, "text/plain", "".join(f"page {n}, line {i}\n" for i in range(n % 7 + 1)))
        else:
            self.reply(404, "text/plain", "not found\n")

    def reply(self, status, content_type, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):   # quiet: the examples' output is what gets compared
        pass


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
