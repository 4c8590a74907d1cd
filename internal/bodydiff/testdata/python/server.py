"""Reports what Django and Werkzeug read from a request.

One WSGI server on a loopback port (wsgiref run as a script; gunicorn
serves the same app as server:app): /django reads request.POST, FILES and
GET through Django's WSGIRequest, /werkzeug reads form, files and args
through Werkzeug's Request, /json is json.loads of the raw body (what
Django views and Flask's get_json do); /cookie reads the cookie the query
names (n, hex) as Django and Werkzeug read it. Strings are hex so every byte
survives; mappings are [key, value] pairs.
"""
import json
import os
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
    # CommonMiddleware is the part of startproject's default middleware
    # that routes (APPEND_SLASH); the readings build WSGIRequest directly
    # and do not pass through it.
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATA_UPLOAD_MAX_NUMBER_FIELDS=None,
    USE_TZ=True,
)
django.setup()

import werkzeug  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path as django_path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402
from werkzeug.routing import Map, Rule  # noqa: E402
from werkzeug.wrappers import Request as WerkzeugRequest  # noqa: E402
from werkzeug.wrappers import Response as WerkzeugResponse  # noqa: E402

LOGIN_MARKER = "login-route-reached"


# The path-routing differential: a request with X-Router: django goes to
# Django's own handler, which resolves it against urlpatterns (the login
# view declared the way Django declares it), and X-Router: werkzeug to a
# Werkzeug Map with the rule Flask's @app.post("/api/login") builds
# (Map's and Rule's defaults are Flask's: strict_slashes, merge_slashes).
@csrf_exempt
def django_login(request):
    user = request.POST.get("username", "")
    return HttpResponse(LOGIN_MARKER + " django " + request.META.get("SERVER_SOFTWARE", "") + " user=" + user)


urlpatterns = [django_path("api/login", django_login)]
django_handler = WSGIHandler()
werkzeug_map = Map([Rule("/api/login", methods=["POST"], endpoint="login")])


def werkzeug_router(environ, start_response):
    try:
        werkzeug_map.bind_to_environ(environ).match()
        user = WerkzeugRequest(environ).form.get("username", "")
        resp = WerkzeugResponse(LOGIN_MARKER + " werkzeug " + environ.get("SERVER_SOFTWARE", "") + " user=" + user)
    except HTTPException as e:  # not found, redirect, method not allowed
        resp = e.get_response(environ)
    return resp(environ, start_response)


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
    router = environ.get("HTTP_X_ROUTER")
    if router == "django":
        return django_handler(environ, start_response)
    if router == "werkzeug":
        return werkzeug_router(environ, start_response)
    path = environ.get("PATH_INFO", "")
    if path == "/ready":
        out = {"status": "ok", "version": "%s, django %s, werkzeug %s" % (
            environ.get("SERVER_SOFTWARE", ""), django.get_version(), werkzeug.__version__),
            # The token the test started this server with.
            "token": os.environ.get("LOGIN_GUARD_BODYDIFF_TOKEN", "")}
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
