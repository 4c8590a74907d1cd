"""Reports what Django and Werkzeug read from a request.

One WSGI server on a loopback port: /django reads request.POST, FILES and
GET through Django's WSGIRequest, /werkzeug reads form, files and args
through Werkzeug's Request, /json is json.loads of the raw body (what
Django views and Flask's get_json do); /cookie reads the cookie the query
names (n, hex) as Django and Werkzeug read it. Strings are hex so every byte
survives; mappings are [key, value] pairs.
"""
import json
import sys
from urllib.parse import parse_qs
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="differential-test",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    DATA_UPLOAD_MAX_NUMBER_FIELDS=None,
    USE_TZ=True,
)
django.setup()
urlpatterns = []

import werkzeug  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from werkzeug.wrappers import Request as WerkzeugRequest  # noqa: E402


def hexs(s):
    if isinstance(s, bytes):
        return s.hex()
    return s.encode("utf-8", "surrogatepass").hex()


def enc(v):
    if isinstance(v, (str, bytes)):
        return {"s": hexs(v)}
    if isinstance(v, (list, tuple)):
        return {"l": [enc(x) for x in v]}
    if isinstance(v, dict):
        return {"m": [[hexs(str(k)), enc(x)] for k, x in v.items()]}
    return {"j": json.dumps(v)}


def multi(md):
    """A QueryDict or MultiDict as name -> list of values."""
    return {"m": [[hexs(k), {"l": [enc(x) for x in md.getlist(k)]}] for k in md.keys()]}


def django_reading(environ):
    req = WSGIRequest(environ)
    return {"status": "ok", "post": multi(req.POST), "query": multi(req.GET),
            "files": [hexs(k) for k in req.FILES.keys()]}


def werkzeug_reading(environ):
    req = WerkzeugRequest(environ)
    return {"status": "ok", "post": multi(req.form), "query": multi(req.args),
            "files": [hexs(k) for k in req.files.keys()]}


def cookie_reading(environ):
    """The cookie differential: request.COOKIES.get(name), what Django's
    session middleware reads, and Werkzeug's request.cookies.get(name),
    what Flask's sessions read; None when absent."""
    name = bytes.fromhex(parse_qs(environ.get("QUERY_STRING", "")).get("n", [""])[0]).decode("utf-8")
    dj = WSGIRequest(environ).COOKIES.get(name)
    wz = WerkzeugRequest(environ).cookies.get(name)
    return {"status": "ok", "reads": {
        "Django request.COOKIES": None if dj is None else enc(dj),
        "Werkzeug request.cookies": None if wz is None else enc(wz),
    }}


def json_reading(environ):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(n)
    return {"status": "ok", "post": enc(json.loads(raw))}


ROUTES = {"/cookie": cookie_reading, "/django": django_reading, "/werkzeug": werkzeug_reading, "/json": json_reading}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/ready":
        out = {"status": "ok", "version": "django %s, werkzeug %s" % (django.get_version(), werkzeug.__version__)}
    else:
        try:
            out = ROUTES[path](environ)
        except Exception as e:  # the framework refused the body
            out = {"status": "error", "detail": type(e).__name__}
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


if __name__ == "__main__":
    httpd = make_server("127.0.0.1", int(sys.argv[1]), app, server_class=Server, handler_class=QuietHandler)
    print("ready", flush=True)
    httpd.serve_forever()
