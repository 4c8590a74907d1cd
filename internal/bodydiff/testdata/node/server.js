// Reports what an Express app reads from a request, as two common setups
// configure it: /extended is express.urlencoded({extended: true}) (qs)
// plus multer().any() for multipart (nested names via append-field),
// /simple is express.urlencoded({extended: false}) (querystring) plus
// busboy's raw field events for multipart; /json is express.json().
// /cookie reads the cookie the query names (n, hex) as cookie-parser's
// req.cookies and express-session (the `cookie` package's parse of the
// Cookie header) read it. Strings are hex (UTF-8) so bytes can be
// compared; objects are [key, value] pairs in order.
'use strict';
const express = require('express');
const multer = require('multer');
const busboy = require('busboy');
const qs = require('qs');
const querystring = require('node:querystring');
const path = require('node:path');
const cookieParser = require('cookie-parser');
// The `cookie` package cookie-parser parses with (express-session depends
// on the same version: 0.7).
const cookieDir = path.dirname(require.resolve('cookie', { paths: [path.dirname(require.resolve('cookie-parser'))] }));
const cookie = require(cookieDir);

const hex = (s) => Buffer.from(String(s), 'utf8').toString('hex');
function enc(v) {
  if (typeof v === 'string') return { s: hex(v) };
  if (Array.isArray(v)) return { l: v.map(enc) };
  if (v !== null && typeof v === 'object') return { m: Object.keys(v).map((k) => [hex(k), enc(v[k])]) };
  return { j: JSON.stringify(v === undefined ? null : v) };
}
const rawQuery = (req) => {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
};
const reply = (parseQuery) => (req, res) => {
  res.json({ status: 'ok', post: enc(req.body || {}), query: enc(parseQuery(rawQuery(req))) });
};
const qsQuery = (q) => qs.parse(q);
const flatQuery = (q) => ({ ...querystring.parse(q) });

const app = express();
app.set('query parser', false);
app.get('/ready', (req, res) => {
  const v = (m) => require(m + '/package.json').version;
  res.json({ status: 'ok', version: `express ${v('express')}, body-parser ${v('body-parser')}, qs ${v('qs')}, multer ${v('multer')}, busboy ${v('busboy')}, cookie-parser ${v('cookie-parser')}, cookie ${require(path.join(cookieDir, 'package.json')).version}, node ${process.versions.node}`,
    // The token the test started this server with.
    token: process.env.LOGIN_GUARD_BODYDIFF_TOKEN || '' });
});
// The cookie differential: req.cookies[name] after cookie-parser (no
// secret: signed values stay there too), and express-session's own
// lookup, cookie.parse(req.headers.cookie)[name] (Node joins several
// Cookie lines with "; "); null when absent.
app.get('/cookie', cookieParser(), (req, res) => {
  const name = Buffer.from(new URLSearchParams(rawQuery(req)).get('n') || '', 'hex').toString('utf8');
  const header = req.headers.cookie;
  const own = (o) => (o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, name) ? enc(o[name]) : null);
  res.json({ status: 'ok', reads: {
    'Express cookie-parser req.cookies': own(req.cookies),
    'express-session cookie.parse': header === undefined ? null : own(cookie.parse(header)),
  } });
});
app.post('/extended', express.urlencoded({ extended: true, limit: '1mb' }), multer().any(), reply(qsQuery));
app.post('/json', express.json({ limit: '1mb' }), reply(qsQuery));

// busboyFields is what an app that hands multipart bodies to busboy
// builds: every field event, in order.
function busboyFields(req, res, next) {
  if (req.body !== undefined || !/^multipart\//i.test(req.headers['content-type'] || '')) {
    next();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let bb;
    try {
      bb = busboy({ headers: req.headers });
    } catch (e) {
      next(e);
      return;
    }
    const fields = [];
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      if (err) {
        next(err);
        return;
      }
      req.busboyFields = fields;
      next();
    };
    bb.on('field', (name, value) => fields.push([hex(name), { s: hex(value) }]));
    bb.on('file', (name, stream) => {
      stream.on('error', () => {}); // the form's own 'error' reports it
      stream.resume();
    });
    bb.on('close', () => finish());
    bb.on('error', (e) => finish(e));
    try {
      bb.end(Buffer.concat(chunks));
    } catch (e) {
      finish(e);
    }
  });
}
app.post('/simple', express.urlencoded({ extended: false, limit: '1mb' }), busboyFields, (req, res) => {
  const post = req.busboyFields ? { m: req.busboyFields } : enc(req.body || {});
  res.json({ status: 'ok', post, query: enc(flatQuery(rawQuery(req))) });
});
// The path-routing differential: the login route as an Express app
// declares it, with the router's default options (case-insensitive, not
// strict about a trailing slash), reading the user from the form.
app.post('/api/login', express.urlencoded({ extended: false }), (req, res) => res.send('login-route-reached express user=' + ((req.body || {}).username || '')));

// A parser that refuses the body (415 charset, 400 syntax) answers here.
app.use((err, req, res, next) => res.json({ status: 'error', detail: String(err.type || err.message) }));

const server = app.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
server.keepAliveTimeout = 60000;
