// Package bodydiff generates the request bodies the guard's reading policy
// (package formbody) is tested with: a seeded corpus of mutations of a
// login body (field names, part headers, media-type parameters, charsets,
// separators), shared by the differential test, which runs real framework
// parsers on it, and by the fuzz target.
package bodydiff

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"unicode/utf16"

	"github.com/login-guard/login_guard/internal/formbody"
)

// Case is one request: a Content-Type ("" for none), a body, a raw query
// string and the name of the Spec (see Specs) the guard reads it with.
type Case struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
	Query       string `json:"query,omitempty"`
	Spec        string `json:"spec"`
}

// Specs are the guard configurations the corpora use: the default login
// form (with an operation's amount as a guarded field), Devise's
// user[email] and Symfony's login_form[username].
func Specs() map[string]formbody.Spec {
	return map[string]formbody.Spec{
		"default": {UniqueFields: []string{"amount"}},
		"devise":  {UserField: "user[email]", PasswordFields: []string{"user[password]"}},
		"symfony": {UserField: "login_form[username]", PasswordFields: []string{"login_form[password]"}},
	}
}

// Guarded lists the fields the differential test compares for a spec: the
// user, the device and the unique fields. Password fields are dropped by
// the guard, so there is nothing to compare; the name policy covers them.
func Guarded(s formbody.Spec) []string {
	user, device := s.UserField, s.DeviceField
	if user == "" {
		user = formbody.DefaultUserField
	}
	if device == "" {
		device = formbody.DefaultDeviceField
	}
	return append([]string{user, device}, s.UniqueFields...)
}

type kind uint8

const (
	kindForm kind = iota
	kindMultipart
	kindJSON
)

// field is one form field; headers, when set, replace a multipart part's
// header block.
type field struct {
	name, value string
	headers     string
	file        bool
}

// draft is a body before serialisation; mutations change it, then raw
// mutations change the serialised bytes.
type draft struct {
	kind     kind
	fields   []field
	ct       string // Content-Type; "\x00" means "derive from kind"
	boundary string
	query    string
	// jsonRaw replaces the generated JSON text when set.
	jsonRaw string
	// charset, when set, re-encodes the serialised body (utf-16 JSON).
	encodeUTF16 bool
	raw         []func(string) string
	label       []string
}

var users = []string{"alice", "jürgen", "李小龍", "o'brien+1@example.com", "a b", "Ωmega", "bob"}

func newDraft(r *rand.Rand) *draft {
	d := &draft{kind: kind(r.IntN(3)), ct: "\x00", boundary: "----WebKitFormBoundary" + randToken(r, 16)}
	d.fields = []field{
		{name: "username", value: users[r.IntN(len(users))]},
		{name: "password", value: "hunter2"},
		{name: "smartid_data", value: "eyJzIjoxfQ=="},
	}
	if r.IntN(2) == 0 {
		d.fields = append(d.fields, field{name: "amount", value: "125.50"})
	}
	if r.IntN(3) == 0 {
		d.fields = append(d.fields, field{name: "remember_me", value: "1"})
	}
	r.Shuffle(len(d.fields), func(i, j int) { d.fields[i], d.fields[j] = d.fields[j], d.fields[i] })
	return d
}

func randToken(r *rand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// Mutations returns n cases generated from seed, each a login body with
// one to three mutations applied. The same seed gives the same corpus.
func Mutations(seed uint64, n int) []Case {
	out := make([]Case, 0, n)
	for i := range n {
		out = append(out, Mutation(seed, uint64(i)))
	}
	return out
}

// Mutation returns case i of the corpus for seed.
func Mutation(seed, i uint64) Case {
	r := rand.New(rand.NewPCG(seed, i))
	d := newDraft(r)
	for range 1 + r.IntN(3) {
		m := mutators[r.IntN(len(mutators))]
		m(r, d)
	}
	c := d.build()
	c.Name = fmt.Sprintf("mutation %d/%d: %s", seed, i, strings.Join(d.label, ", "))
	c.Spec = "default"
	return c
}

func (d *draft) build() Case {
	var body string
	ct := d.ct
	switch d.kind {
	case kindForm:
		var parts []string
		for _, f := range d.fields {
			parts = append(parts, formEscape(f.name)+"="+formEscape(f.value))
		}
		body = strings.Join(parts, "&")
		if ct == "\x00" {
			ct = "application/x-www-form-urlencoded"
		}
	case kindMultipart:
		var b strings.Builder
		for _, f := range d.fields {
			b.WriteString("--" + d.boundary + "\r\n")
			h := f.headers
			if h == "" {
				h = "Content-Disposition: form-data; name=\"" + multipartName(f.name) + "\""
				if f.file {
					h += "; filename=\"a.txt\"\r\nContent-Type: text/plain"
				}
			}
			b.WriteString(h + "\r\n\r\n" + f.value + "\r\n")
		}
		b.WriteString("--" + d.boundary + "--\r\n")
		body = b.String()
		if ct == "\x00" {
			ct = "multipart/form-data; boundary=" + d.boundary
		}
	case kindJSON:
		if d.jsonRaw != "" {
			body = d.jsonRaw
		} else {
			var parts []string
			for _, f := range d.fields {
				parts = append(parts, jsonString(f.name)+":"+jsonString(f.value))
			}
			body = "{" + strings.Join(parts, ",") + "}"
		}
		if ct == "\x00" {
			ct = "application/json"
		}
	}
	for _, m := range d.raw {
		body = m(body)
	}
	if d.encodeUTF16 {
		body = utf16LE(body)
	}
	return Case{ContentType: ct, Body: []byte(body), Query: d.query}
}

// formEscape is what a browser does to a form component: spaces become
// '+', everything but unreserved characters is percent-encoded.
func formEscape(s string) string { return url.QueryEscape(s) }

// multipartName is what Chromium does to a name in a part header.
func multipartName(s string) string {
	return strings.NewReplacer("\"", "%22", "\r", "%0D", "\n", "%0A").Replace(s)
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16LE(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

// pickGuarded returns the index of a guarded field when there is one
// (most of the time), else any field.
func (d *draft) pickGuarded(r *rand.Rand) int {
	var g []int
	for i, f := range d.fields {
		switch f.name {
		case "username", "smartid_data", "amount", "password":
			g = append(g, i)
		}
	}
	if len(g) > 0 && r.IntN(5) > 0 {
		return g[r.IntN(len(g))]
	}
	return r.IntN(len(d.fields))
}

func (d *draft) note(format string, args ...any) {
	d.label = append(d.label, fmt.Sprintf(format, args...))
}

// nameVariants are ways a framework may normalise a name onto another:
// PHP's NUL truncation, leading-space stripping and '.'/' ' to '_', bracket
// arrays, case folding, Unicode case-folding look-alikes, format
// characters; and unrelated names, so not every variant collides.
var nameVariants = []struct {
	label string
	f     func(string) string
}{
	{"leading space", func(n string) string { return " " + n }},
	{"trailing space", func(n string) string { return n + " " }},
	{"leading tab", func(n string) string { return "\t" + n }},
	{"trailing newline", func(n string) string { return n + "\n" }},
	{"nul suffix", func(n string) string { return n + "\x00x" }},
	{"nul end", func(n string) string { return n + "\x00" }},
	{"empty brackets", func(n string) string { return n + "[]" }},
	{"index brackets", func(n string) string { return n + "[0]" }},
	{"key brackets", func(n string) string { return n + "[a]" }},
	{"wrapped brackets", func(n string) string { return "[" + n + "]" }},
	{"unclosed bracket", func(n string) string { return n + "[" }},
	{"upper case", strings.ToUpper},
	{"title case", func(n string) string { return strings.ToUpper(n[:1]) + n[1:] }},
	{"underscore to dot", func(n string) string { return strings.ReplaceAll(n, "_", ".") }},
	{"underscore to space", func(n string) string { return strings.ReplaceAll(n, "_", " ") }},
	{"underscore to bracket", func(n string) string { return strings.Replace(n, "_", "[", 1) }},
	{"dot suffix", func(n string) string { return n + "." }},
	{"bom prefix", func(n string) string { return "\ufeff" + n }},
	{"zero-width space", func(n string) string { return n[:1] + "\u200b" + n[1:] }},
	{"long s", func(n string) string { return strings.Replace(n, "s", "\u017f", 1) }},
	{"kelvin k", func(n string) string { return strings.Replace(strings.Replace(n, "a", "\u212a", 1), "k", "\u212a", 1) }},
	{"fullwidth first", func(n string) string { return string(rune(0xFF41+int(n[0])-'a')) + n[1:] }},
	{"nfkc ligature", func(n string) string { return strings.Replace(n, "ss", "\ufb06", 1) }},
	{"percent literal", func(n string) string { return n + "%" }},
	{"unrelated suffix", func(n string) string { return n + "_confirm" }},
	{"unrelated prefix", func(n string) string { return "x" + n }},
	{"truncated", func(n string) string { return n[:len(n)-1] }},
	{"hyphen", func(n string) string { return strings.ReplaceAll(n, "_", "-") }},
	{"plus prefix", func(n string) string { return "+" + n }},
	{"percent-encoded letter", func(n string) string { return "%" + fmt.Sprintf("%02X", n[0]) + n[1:] }},
	{"html entity letter", func(n string) string { return "&#" + fmt.Sprint(int(n[0])) + ";" + n[1:] }},
	{"quote inside", func(n string) string { return n[:1] + "\"" + n[1:] }},
}

// valueVariants are values some framework reads differently (invalid
// UTF-8, surrounding space, non-ASCII digits) or that every one reads
// alike.
var valueVariants = []string{
	"\xff\xfe", "al\xc3ice", "alice\x00", " alice ", "alice\r\n", "", "   ", "\t",
	" 5", "5 ", "５", "٥", "0x1p4", "1_0", "+5", "-5", "1e3", "007", "12.50",
	"mallory", "é", "\u2028", "a%41", "a+b", "a&b=c", "\ufeffalice",
}

var charsets = []string{
	"utf-8", "UTF-8", `"utf-8"`, "utf8", "Utf-8", "us-ascii", "ascii", "iso-8859-1", "latin1",
	"windows-1252", "utf-7", "UTF-7", "utf-16", "utf-16le", "utf-32", "cp1252", "shift_jis",
	"", `""`, "utf-8 ", "utf-8;", "x-user-defined",
}

var mutators = []func(r *rand.Rand, d *draft){
	// Field names.
	func(r *rand.Rand, d *draft) {
		i := d.pickGuarded(r)
		v := nameVariants[r.IntN(len(nameVariants))]
		d.fields[i].name = v.f(d.fields[i].name)
		d.note("name %s", v.label)
	},
	// A second field: the same name, or a variant, with another value.
	func(r *rand.Rand, d *draft) {
		i := d.pickGuarded(r)
		f := d.fields[i]
		f.value = "mallory"
		label := "duplicate"
		if r.IntN(2) == 0 {
			v := nameVariants[r.IntN(len(nameVariants))]
			f.name = v.f(f.name)
			label = "duplicate as " + v.label
		}
		at := r.IntN(len(d.fields) + 1)
		d.fields = append(d.fields[:at], append([]field{f}, d.fields[at:]...)...)
		d.note("%s", label)
	},
	// Values.
	func(r *rand.Rand, d *draft) {
		i := d.pickGuarded(r)
		d.fields[i].value = valueVariants[r.IntN(len(valueVariants))]
		d.note("value %q", d.fields[i].value)
	},
	// The query string.
	func(r *rand.Rand, d *draft) {
		i := d.pickGuarded(r)
		name := d.fields[i].name
		if r.IntN(2) == 0 {
			name = nameVariants[r.IntN(len(nameVariants))].f(name)
		}
		d.query = url.QueryEscape(name) + "=mallory"
		if r.IntN(3) == 0 {
			d.fields = append(d.fields[:i], d.fields[i+1:]...)
		}
		d.note("query %q", d.query)
	},
	// Charsets.
	func(r *rand.Rand, d *draft) {
		cs := charsets[r.IntN(len(charsets))]
		base := map[kind]string{kindForm: "application/x-www-form-urlencoded", kindJSON: "application/json"}[d.kind]
		if d.kind == kindMultipart {
			d.ct = "multipart/form-data; charset=" + cs + "; boundary=" + d.boundary
		} else {
			d.ct = base + "; charset=" + cs
		}
		if strings.EqualFold(strings.Trim(cs, `"`), "utf-7") && d.kind != kindMultipart {
			// What a UTF-7 decoder turns into the real name.
			for j := range d.fields {
				if d.fields[j].name == "username" {
					d.fields[j].name = "+AHU-sername"
				}
			}
		}
		if strings.HasPrefix(strings.ToLower(cs), "utf-16") && d.kind == kindJSON {
			d.encodeUTF16 = true
		}
		d.note("charset %s", cs)
	},
	// Media types and their parameters.
	func(r *rand.Rand, d *draft) {
		types := []string{
			"", "text/plain", "application/json", "application/x-www-form-urlencoded",
			"Application/X-WWW-Form-Urlencoded", "application/x-www-form-urlencoded ; foo=bar",
			"application/x-www-form-urlencoded, application/json", "application/vnd.api+json",
			"application/x-www-form-urlencoded; charset*=utf-8''utf-7", "application/json; charset=utf-8; charset=utf-7",
			"multipart/form-data", "multipart/mixed; boundary=" + d.boundary, "application/x-www-form-urlencoded\t",
		}
		d.ct = types[r.IntN(len(types))]
		d.note("content type %q", d.ct)
	},
	// Separators and escapes in a form body.
	func(r *rand.Rand, d *draft) {
		if d.kind != kindForm {
			d.kind = kindForm
			d.ct = "\x00"
		}
		raw := []struct {
			label string
			f     func(string) string
		}{
			{"semicolon", func(s string) string { return strings.Replace(s, "&", ";", 1) }},
			{"double ampersand", func(s string) string { return strings.Replace(s, "&", "&&", 1) }},
			{"html ampersand", func(s string) string { return strings.Replace(s, "&", "&amp;", 1) }},
			{"leading ampersand", func(s string) string { return "&" + s }},
			{"trailing ampersand", func(s string) string { return s + "&" }},
			{"double equals", func(s string) string { return strings.Replace(s, "=", "==", 1) }},
			{"no equals", func(s string) string { return strings.Replace(s, "username=", "username", 1) }},
			{"escaped name char", func(s string) string { return strings.Replace(s, "username", "%75sername", 1) }},
			{"escaped underscore", func(s string) string { return strings.Replace(s, "smartid_data", "smartid%5Fdata", 1) }},
			{"bad escape", func(s string) string { return strings.Replace(s, "username=", "username=%zz", 1) }},
			{"iis escape", func(s string) string { return strings.Replace(s, "username", "%u0075sername", 1) }},
			{"raw space", func(s string) string { return strings.Replace(s, "username=", "user name=", 1) }},
			{"raw nul", func(s string) string { return strings.Replace(s, "username=", "username\x00=", 1) }},
			{"escaped ampersand", func(s string) string { return strings.Replace(s, "&", "%26", 1) }},
			{"crlf", func(s string) string { return strings.Replace(s, "&", "\r\n&", 1) }},
			{"leading bom", func(s string) string { return "\ufeff" + s }},
			{"leading space", func(s string) string { return " " + s }},
			{"raw 8-bit", func(s string) string { return strings.Replace(s, "username=", "username=\xe9", 1) }},
		}
		m := raw[r.IntN(len(raw))]
		d.raw = append(d.raw, m.f)
		d.note("form %s", m.label)
	},
	// Multipart boundary parameter.
	func(r *rand.Rand, d *draft) {
		d.kind = kindMultipart
		b := d.boundary
		forms := []string{
			"multipart/form-data; boundary=\"" + b + "\"", "multipart/form-data;boundary=" + b,
			"Multipart/Form-Data; boundary=" + b, "multipart/form-data; BOUNDARY=" + b,
			"multipart/form-data; boundary = " + b, "multipart/form-data; boundary=" + b + "; charset=utf-8",
			"multipart/form-data; charset=utf-8; boundary=" + b, "multipart/form-data; xboundary=AAA; boundary=" + b,
			"multipart/form-data; boundary=" + b + "; boundary=AAA", "multipart/form-data; boundary=AAA; boundary=" + b,
			"multipart/form-data; boundary*=utf-8''" + b, "multipart/form-data; boundary=" + b + ",x",
			"multipart/form-data; foo=\"x; boundary=AAA\"; boundary=" + b, "multipart/form-data; boundary=" + b + " ",
			"multipart/form-data; boundary='" + b + "'", "multipart/form-data; boundary=" + strings.ToLower(b),
		}
		d.ct = forms[r.IntN(len(forms))]
		d.note("boundary %q", d.ct)
	},
	// Multipart part headers on a guarded part.
	func(r *rand.Rand, d *draft) {
		d.kind = kindMultipart
		i := d.pickGuarded(r)
		n := d.fields[i].name
		hs := []string{
			"Content-Disposition: form-data; name*=UTF-8''other; name=\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\"; name*=UTF-8''other",
			"Content-Disposition: form-data; name*=UTF-8''" + n,
			"Content-Disposition: form-data; name=\"other\"\r\nContent-Disposition: form-data; name=\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Disposition: form-data; name=\"other\"",
			"Content-Disposition: form-data; name=\"" + n + "\"; filename=\"\"",
			"Content-Disposition: form-data; name=\"" + n + "\"; filename=\"a.txt\"",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Type: text/plain; charset=utf-7",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Type: text/plain",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Type: text/plain; charset=utf-8",
			"Content-Disposition: form-data; name=" + n + "\r\nContent-Type: text/plain; charset=\"UTF-8\"",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Type: text/plain; charset=iso-8859-1",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Length: " + fmt.Sprint(len(d.fields[i].value)),
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Length: 1",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Type: application/json",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Transfer-Encoding: base64",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Transfer-Encoding: 8bit",
			"content-disposition: form-data; name=\"" + n + "\"",
			"Content-Disposition: form-data; name=" + n,
			"Content-Disposition: form-data; name='" + n + "'",
			"Content-Disposition: form-data; name=\"x\\\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\\\"\"",
			"Content-Disposition: form-data; name=\"" + n + "\"; size=3",
			"Content-Disposition: form-data;name=\"" + n + "\"",
			"Content-Disposition: form-data ; name=\"" + n + "\"",
			"Content-Disposition:form-data; name=\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\";",
			"Content-Disposition: form-data;\r\n name=\"" + n + "\"",
			"Content-Disposition : form-data; name=\"" + n + "\"",
			"Content-Disposition: attachment; name=\"" + n + "\"",
			"Content-Disposition: form-data; NAME=\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nX-Extra: 1",
			"Content-Disposition: form-data; name=\"" + n + "\"\r\nContent-Length: 3",
			"Content-Disposition: form-data; filename=\"a\"; name=\"" + n + "\"",
			"Content-Disposition: form-data; name=\"" + n + "\"; name=\"other\"",
			"Content-Disposition: form-data; name=\"other\"; name=\"" + n + "\"",
		}
		d.fields[i].headers = hs[r.IntN(len(hs))]
		d.note("part headers %q", d.fields[i].headers)
	},
	// Multipart framing.
	func(r *rand.Rand, d *draft) {
		d.kind = kindMultipart
		b := d.boundary
		raw := []struct {
			label string
			f     func(string) string
		}{
			{"lf line ends", func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }},
			{"lf before one delimiter", func(s string) string { return strings.Replace(s, "\r\n--"+b, "\n--"+b, 2) }},
			{"preamble", func(s string) string { return "preamble\r\n" + s }},
			{"epilogue part", func(s string) string {
				return s + "--" + b + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmallory\r\n--" + b + "--\r\n"
			}},
			{"transport padding", func(s string) string { return strings.Replace(s, "--"+b+"\r\n", "--"+b+" \r\n", 1) }},
			{"delimiter suffix", func(s string) string {
				return strings.Replace(s, "\r\n--"+b+"--", "\r\n--"+b+"x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmallory\r\n--"+b+"--", 1)
			}},
			{"no closing delimiter", func(s string) string { return strings.TrimSuffix(s, "--"+b+"--\r\n") }},
			{"closing without crlf", func(s string) string { return strings.TrimSuffix(s, "\r\n") }},
			{"bare cr in headers", func(s string) string { return strings.Replace(s, "form-data; ", "form-data;\r ", 1) }},
			{"boundary in value", func(s string) string { return strings.Replace(s, "\r\n\r\n", "\r\n\r\n--"+b+"\r\n", 1) }},
			{"empty part", func(s string) string { return strings.Replace(s, "--"+b+"\r\n", "--"+b+"\r\n\r\n\r\n--"+b+"\r\n", 1) }},
			{"nested multipart", func(s string) string {
				return strings.Replace(s, "name=\"username\"\r\n\r\n", "name=\"username\"\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n--ZZ\r\n\r\nmallory\r\n--ZZ--\r\n", 1)
			}},
		}
		m := raw[r.IntN(len(raw))]
		d.raw = append(d.raw, m.f)
		d.note("framing %s", m.label)
	},
	// A file part, named like a guarded field or not.
	func(r *rand.Rand, d *draft) {
		d.kind = kindMultipart
		name := "avatar"
		if r.IntN(2) == 0 {
			name = d.fields[d.pickGuarded(r)].name
		}
		d.fields = append(d.fields, field{name: name, value: "file content", file: true})
		d.note("file part %q", name)
	},
	// JSON shapes.
	func(r *rand.Rand, d *draft) {
		d.kind = kindJSON
		shapes := []string{
			`{"username":"alice","username":"mallory","password":"x"}`,
			`{"username":"alice","USERNAME":"mallory"}`,
			`{"Username":"mallory","password":"x"}`,
			`{"user\u006eame":"alice"}`,
			`{"username ":"mallory"}`,
			`{" username":"mallory"}`,
			`{"username\u0000":"mallory"}`,
			`{"username":["mallory"]}`,
			`{"username":{"0":"mallory"}}`,
			`{"username":5}`,
			`{"username":null}`,
			`{"username":true}`,
			`{"username":"\ud800"}`,
			`{"username":"al` + "\xff" + `ice"}`,
			"\ufeff" + `{"username":"alice"}`,
			`{"username":"alice",}`,
			`{"username":"alice"}/*x*/`,
			`{'username':'alice'}`,
			`{"username":"alice"}{"username":"mallory"}`,
			`{"username":"alice"} `,
			`[{"username":"alice"}]`,
			`{"credentials":{"username":"mallory"}}`,
			`{"credentials.username":"mallory","username":"alice"}`,
			`{"username":"alice","smartid_data":"x","smartid_data":"y"}`,
			`{"username":"alice","amount":" 5"}`,
			`{"username":"alice","amount":5}`,
			`{"username":"alice","amount":"0x1p4"}`,
			`{"username":"alice","amount":1e400}`,
			`{"username":"al\u0000ice"}`,
			`{"\u212aey":"x","username":"alice"}`,
			`{"username":"alice","password":{"x":"y"}}`,
			`{"username":"alice","Password":"p"}`,
			`{"username":NaN}`,
			`{"username":"alice"` + strings.Repeat(`,"k":{"a":1}`, 1) + `}`,
		}
		d.jsonRaw = shapes[r.IntN(len(shapes))]
		d.note("json %q", d.jsonRaw)
	},
}
