package bodydiff

// PassCases are well-formed bodies every mainstream client sends and the
// guard must pass byte for byte, beside the ones headless Chromium
// generated (testdata/chromium.json): jQuery's "; charset=UTF-8", a quoted
// charset, Devise and Symfony bracket names, non-ASCII user names, and
// multipart as curl, .NET's HttpClient and OkHttp write it, and JSON.
func PassCases() []Case {
	const b = "------------------------d74496d66958873e"
	return []Case{
		{Name: "jquery form", ContentType: "application/x-www-form-urlencoded; charset=UTF-8",
			Body: []byte("username=alice&password=hunter2&smartid_data=eyJzIjoxfQ%3D%3D"), Spec: "default"},
		{Name: "quoted charset", ContentType: `application/x-www-form-urlencoded; charset="utf-8"`,
			Body: []byte("username=alice&password=hunter2"), Spec: "default"},
		{Name: "utf8 alias", ContentType: "application/x-www-form-urlencoded;charset=utf8",
			Body: []byte("username=alice&password=hunter2"), Spec: "default"},
		{Name: "us-ascii, ascii body", ContentType: "application/x-www-form-urlencoded; charset=us-ascii",
			Body: []byte("username=alice&password=hunter2&amount=12.50"), Spec: "default"},
		{Name: "non-ascii users", ContentType: "application/x-www-form-urlencoded",
			Body: []byte("username=j%C3%BCrgen+%E6%9D%8E%E5%B0%8F%E9%BE%8D&password=x&smartid_data=&amount=-5"), Spec: "default"},
		{Name: "devise", ContentType: "application/x-www-form-urlencoded",
			Body: []byte("authenticity_token=abc%2B%2F%3D&user%5Bemail%5D=alice%40example.com&user%5Bpassword%5D=hunter2&user%5Bremember_me%5D=0&commit=Log+in"), Spec: "devise"},
		{Name: "symfony", ContentType: "application/x-www-form-urlencoded",
			Body: []byte("login_form%5Busername%5D=alice&login_form%5Bpassword%5D=hunter2&login_form%5B_token%5D=t0k3n"), Spec: "symfony"},
		{Name: "curl multipart", ContentType: "multipart/form-data; boundary=" + b,
			Body: []byte("--" + b + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n" +
				"--" + b + "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n" +
				"--" + b + "\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n" +
				"--" + b + "--\r\n"), Spec: "default"},
		{Name: ".NET HttpClient multipart", ContentType: `multipart/form-data; boundary="9e5b0a44-1c1d-4a53-9d33-2f3c6a6c0f21"`,
			Body: []byte("--9e5b0a44-1c1d-4a53-9d33-2f3c6a6c0f21\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=username\r\n\r\nj\u00fcrgen\r\n" +
				"--9e5b0a44-1c1d-4a53-9d33-2f3c6a6c0f21\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=password\r\n\r\nhunter2\r\n" +
				"--9e5b0a44-1c1d-4a53-9d33-2f3c6a6c0f21--\r\n"), Spec: "default"},
		{Name: "OkHttp multipart", ContentType: "multipart/form-data; boundary=6f0d2b1e-3c4a-4b8e-9a7d-0e1f2a3b4c5d",
			Body: []byte("--6f0d2b1e-3c4a-4b8e-9a7d-0e1f2a3b4c5d\r\nContent-Disposition: form-data; name=\"username\"\r\nContent-Length: 5\r\n\r\nalice\r\n" +
				"--6f0d2b1e-3c4a-4b8e-9a7d-0e1f2a3b4c5d\r\nContent-Disposition: form-data; name=\"password\"\r\nContent-Length: 7\r\n\r\nhunter2\r\n" +
				"--6f0d2b1e-3c4a-4b8e-9a7d-0e1f2a3b4c5d--\r\n"), Spec: "default"},
		{Name: "json", ContentType: "application/json",
			Body: []byte(`{"username":"李小龍","password":"hunter2","smartid_data":"eyJzIjoxfQ==","amount":"12.50"}`), Spec: "default"},
		{Name: "json utf-8 charset", ContentType: "application/json; charset=utf-8",
			Body: []byte(`{"username": "o'brien \"x\"", "password": "p", "remember": true}`), Spec: "default"},
	}
}
