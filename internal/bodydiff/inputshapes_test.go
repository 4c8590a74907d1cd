//go:build differential

package bodydiff

// inputShapes are logins Laravel's $request->input() reads its own way,
// which the mutation corpus does not draw: Request::isJson takes a body
// for JSON when its Content-Type contains "/json" or "+json" anywhere (a
// form's parameter, a multipart boundary), and input() merges the body
// over the query string, JSON bodies included. The guard refuses a form
// whose Content-Type says so (ambiguous_content_type); before it did,
// Laravel read no user from such a form where the guard read one.
var inputShapes = []struct{ name, ct, body, query string }{
	{name: "form type naming json", ct: `application/x-www-form-urlencoded; profile="application/json"`, body: "username=alice&password=x"},
	{name: "form type naming json, the user in the query", ct: `application/x-www-form-urlencoded; profile="application/json"`, body: "password=x", query: "username=alice"},
	{name: "form type with +json", ct: "application/x-www-form-urlencoded; charset=utf-8; x=a+json", body: "username=alice&password=x&smartid_data=d"},
	{name: "form type naming JSON in capitals", ct: `application/x-www-form-urlencoded; profile="application/JSON"`, body: "username=alice&password=x"},
	{name: "multipart boundary with +json", ct: "multipart/form-data; boundary=XyZ+json",
		body: "--XyZ+json\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XyZ+json--\r\n"},
	{name: "multipart boundary with /json", ct: `multipart/form-data; boundary="XyZ/json"`,
		body: "--XyZ/json\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XyZ/json--\r\n"},
	{name: "JSON body, the user in the query", ct: "application/json", body: `{"password":"x"}`, query: "username=mallory"},
	{name: "JSON body, the device in the query", ct: "application/json", body: `{"username":"alice"}`, query: "smartid_data=d"},
	{name: "form, the device in the query", ct: "application/x-www-form-urlencoded", body: "username=alice", query: "smartid_data=d"},
}
