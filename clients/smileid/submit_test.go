package smileid

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestSubmitUploadRequestBytes(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	if s.JobID != firstJobID || s.SmileJobID != "0000000194" {
		t.Fatalf("Submission = %+v", s)
	}
	ts := "2026-03-10T12:00:00.123Z"
	want := `{"callback_url":"https://guard.example/smileid/callback","file_name":"selfie.zip","model_parameters":{},` +
		`"partner_id":"172","partner_params":{"user_id":"user-42","job_id":"` + firstJobID + `","job_type":2},` +
		`"signature":"` + refSign(testKey, ts) + `","smile_client_id":"172","source_sdk":"rest_api",` +
		`"source_sdk_version":"1.0.0","timestamp":"` + ts + `","use_enrolled_image":false}`
	if got := string(h.f.Uploads()[0]); got != want {
		t.Fatalf("upload body\n got %s\nwant %s", got, want)
	}
	// The same bytes, key by key with their JSON types.
	var m map[string]any
	if err := json.Unmarshal(h.f.Uploads()[0], &m); err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]string{
		"callback_url": "string", "file_name": "string", "model_parameters": "map[string]interface {}",
		"partner_id": "string", "partner_params": "map[string]interface {}", "signature": "string",
		"smile_client_id": "string", "source_sdk": "string", "source_sdk_version": "string",
		"timestamp": "string", "use_enrolled_image": "bool",
	}
	if len(m) != len(wantTypes) {
		t.Fatalf("upload keys = %d, want %d", len(m), len(wantTypes))
	}
	for k, typ := range wantTypes {
		if got := fmt.Sprintf("%T", m[k]); got != typ {
			t.Errorf("upload %s: type %s, want %s", k, got, typ)
		}
	}
	pp := m["partner_params"].(map[string]any)
	if !reflect.DeepEqual(pp, map[string]any{"user_id": testUser, "job_id": firstJobID, "job_type": float64(2)}) {
		t.Errorf("partner_params = %v", pp)
	}
	if got := h.c.Registry().Status(firstJobID); got != StatePending {
		t.Errorf("registered state = %s, want pending", got)
	}
	e, _ := h.c.Registry().Lookup(firstJobID)
	if e.UserID != testUser || e.StateHandle != testState {
		t.Errorf("entry = %+v", e)
	}
}

func TestSubmitZipContents(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(t)
	if len(h.f.Puts()) != 1 {
		t.Fatalf("puts = %d", len(h.f.Puts()))
	}
	hdr := h.f.Puts()[0].Header
	if got := hdr.Get("Content-Type"); got != "application/zip" {
		t.Errorf("PUT Content-Type = %q", got)
	}
	if got := hdr.Get("Content-Length"); got != fmt.Sprint(len(h.f.Puts()[0].Body)) {
		t.Errorf("PUT Content-Length = %q, body %d", got, len(h.f.Puts()[0].Body))
	}
	zr, err := zip.NewReader(bytes.NewReader(h.f.Puts()[0].Body), int64(len(h.f.Puts()[0].Body)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "info.json" || zr.File[0].Method != zip.Deflate {
		t.Fatalf("zip entries = %+v", zr.File)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatalf("info.json: %v", err)
	}
	ts := "2026-03-10T12:00:00.123Z"
	var upload map[string]any
	json.Unmarshal([]byte(mustUploadReply(h)), &upload)
	want := map[string]any{
		"package_information": map[string]any{
			"apiVersion": map[string]any{"buildNumber": 0.0, "majorVersion": 2.0, "minorVersion": 0.0},
			"language":   "golang",
		},
		"misc_information": map[string]any{
			"signature":       refSign(testKey, ts),
			"retry":           "false",
			"partner_params":  map[string]any{"user_id": testUser, "job_id": firstJobID, "job_type": 2.0},
			"timestamp":       ts,
			"file_name":       "selfie.zip",
			"smile_client_id": "172",
			"callback_url":    testCallback,
			"userData": map[string]any{
				"isVerifiedProcess": false, "name": "", "fbUserID": "", "firstName": "", "lastName": "",
				"gender": "", "email": "", "phone": "", "countryCode": "+", "countryName": "",
			},
		},
		"id_info": map[string]any{"entered": "false"},
		"images": []any{
			map[string]any{"image_type_id": 2.0, "image": base64.StdEncoding.EncodeToString(jpeg), "file_name": ""},
			map[string]any{"image_type_id": 6.0, "image": base64.StdEncoding.EncodeToString(live1), "file_name": ""},
			map[string]any{"image_type_id": 6.0, "image": base64.StdEncoding.EncodeToString(live2), "file_name": ""},
		},
		"server_information": upload,
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("info.json\n got %v\nwant %v", info, want)
	}
}

func mustUploadReply(h *harness) string {
	_, s := h.f.UploadReply()
	return s
}

// secretsAbsent fails the test when an error's text holds the API key,
// the presigned query or the base URL's host.
func secretsAbsent(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testKey, uploadSecret, "PRESIGNED", "bucket/172"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks %q", err, s)
		}
	}
}

func TestSubmitFailuresForgetTheJob(t *testing.T) {
	tests := []struct {
		name   string
		upload func(base string) (int, string)
		put    int
		check  func(t *testing.T, err error)
	}{
		{
			name:   "upload refused with vendor code",
			upload: func(string) (int, string) { return 401, `{"error":"You're not authorized to do that","code":"2205"}` },
			check: func(t *testing.T, err error) {
				var ve *VendorError
				if !errors.As(err, &ve) || ve.Status != 401 || ve.Code != "2205" || ve.Op != OpUpload {
					t.Errorf("err = %v, want VendorError upload 401 2205", err)
				}
			},
		},
		{
			name:   "upload error body code not digits is dropped",
			upload: func(string) (int, string) { return 500, `{"code":"` + testKey + `"}` },
			check: func(t *testing.T, err error) {
				var ve *VendorError
				if !errors.As(err, &ve) || ve.Code != "" {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name: "upload_url not https",
			upload: func(string) (int, string) {
				return 200, `{"upload_url":"http://evil.example/x?` + uploadSecret + `","smile_job_id":"1"}`
			},
			check: wantIs(ErrBadResponse),
		},
		{
			name:   "upload answer not JSON",
			upload: func(string) (int, string) { return 200, `<html>` },
			check:  wantIs(ErrBadResponse),
		},
		{
			name:   "upload answer too large",
			upload: func(string) (int, string) { return 200, `{"pad":"` + strings.Repeat("x", 70<<10) + `"}` },
			check:  wantIs(ErrResponseTooLarge),
		},
		{
			name: "zip PUT refused",
			put:  403,
			check: func(t *testing.T, err error) {
				var ve *VendorError
				if !errors.As(err, &ve) || ve.Status != 403 || ve.Op != OpZipPut {
					t.Errorf("err = %v, want VendorError zip_put 403", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			if tt.upload != nil {
				h.f.SetUploadReply(tt.upload)
			}
			if tt.put != 0 {
				h.f.SetPutStatus(tt.put)
			}
			_, err := h.c.Submit(context.Background(), SubmitRequest{UserID: testUser, Selfie: jpeg, Liveness: [][]byte{live1}})
			if err == nil {
				t.Fatal("Submit succeeded")
			}
			tt.check(t, err)
			secretsAbsent(t, err)
			if n := h.c.Registry().(*Registry).Len(); n != 0 {
				t.Errorf("registry holds %d jobs after a failed submit", n)
			}
		})
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("err = %v, want %v", err, target)
		}
	}
}

func TestSubmitTransportErrorHidesURL(t *testing.T) {
	h := newHarness(t, nil)
	// The upload answer points at a port nothing listens on.
	h.f.SetUploadReply(func(string) (int, string) {
		return 200, `{"upload_url":"https://127.0.0.1:1/bucket/172/selfie.zip?` + uploadSecret + `","smile_job_id":"1"}`
	})
	_, err := h.c.Submit(context.Background(), SubmitRequest{UserID: testUser, Selfie: jpeg, Liveness: [][]byte{live1}})
	if err == nil {
		t.Fatal("Submit succeeded")
	}
	secretsAbsent(t, err)
}

func TestSubmitRedirectNotFollowed(t *testing.T) {
	h := newHarness(t, nil)
	h.f.SetUploadReply(func(base string) (int, string) { return 302, `{}` })
	_, err := h.c.Submit(context.Background(), SubmitRequest{UserID: testUser, Selfie: jpeg, Liveness: [][]byte{live1}})
	var ve *VendorError
	if !errors.As(err, &ve) || ve.Status != 302 {
		t.Fatalf("err = %v, want VendorError 302", err)
	}
}

func TestSubmitInputValidation(t *testing.T) {
	big := append(append([]byte{}, jpeg...), make([]byte, 100)...)
	tests := []struct {
		name string
		mod  func(*Config)
		req  SubmitRequest
		ok   bool
	}{
		{name: "png selfie", req: SubmitRequest{UserID: "u", Selfie: png, Liveness: [][]byte{live1}}, ok: true},
		{name: "empty user", req: SubmitRequest{Selfie: jpeg, Liveness: [][]byte{live1}}},
		{name: "user with control char", req: SubmitRequest{UserID: "u\n", Selfie: jpeg, Liveness: [][]byte{live1}}},
		{name: "user too long", req: SubmitRequest{UserID: strings.Repeat("u", MaxUserIDLen+1), Selfie: jpeg, Liveness: [][]byte{live1}}},
		{name: "state handle too long", req: SubmitRequest{UserID: "u", StateHandle: strings.Repeat("s", MaxStateHandleLen+1), Selfie: jpeg, Liveness: [][]byte{live1}}},
		{name: "selfie not an image", req: SubmitRequest{UserID: "u", Selfie: []byte("GIF89a"), Liveness: [][]byte{live1}}},
		{name: "no selfie", req: SubmitRequest{UserID: "u", Liveness: [][]byte{live1}}},
		{name: "no liveness", req: SubmitRequest{UserID: "u", Selfie: jpeg}},
		{name: "no liveness allowed", mod: func(c *Config) { c.LivenessOptional = true }, req: SubmitRequest{UserID: "u", Selfie: jpeg}, ok: true},
		{name: "liveness not an image", req: SubmitRequest{UserID: "u", Selfie: jpeg, Liveness: [][]byte{[]byte("nope")}}},
		{name: "too many liveness", mod: func(c *Config) { c.MaxLivenessImages = 2 }, req: SubmitRequest{UserID: "u", Selfie: jpeg, Liveness: [][]byte{live1, live1, live1}}},
		{name: "selfie too big", mod: func(c *Config) { c.MaxImageBytes = 50 }, req: SubmitRequest{UserID: "u", Selfie: big, Liveness: [][]byte{live1}}},
		{name: "liveness too big", mod: func(c *Config) { c.MaxImageBytes = 50 }, req: SubmitRequest{UserID: "u", Selfie: jpeg, Liveness: [][]byte{big}}},
		{name: "total too big", mod: func(c *Config) { c.MaxTotalImageBytes = 25 }, req: SubmitRequest{UserID: "u", Selfie: jpeg, Liveness: [][]byte{live1, live2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mod)
			_, err := h.c.Submit(context.Background(), tt.req)
			uploads, _, _ := h.f.Counts()
			if tt.ok {
				if err != nil || uploads != 1 {
					t.Fatalf("err = %v, uploads = %d", err, uploads)
				}
				return
			}
			if !errors.Is(err, ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
			if uploads != 0 {
				t.Errorf("an invalid request reached Smile ID")
			}
		})
	}
}

type limiterFunc func(ctx context.Context, user string, ip netip.Addr) error

func (f limiterFunc) AllowSubmit(ctx context.Context, user string, ip netip.Addr) error {
	return f(ctx, user, ip)
}

var errSlowDown = errors.New("rate limited")

func TestSubmitLimiter(t *testing.T) {
	var gotUser string
	var gotIP netip.Addr
	h := newHarness(t, func(c *Config) {
		c.Limiter = limiterFunc(func(_ context.Context, user string, ip netip.Addr) error {
			gotUser, gotIP = user, ip
			return errSlowDown
		})
	})
	ip := netip.MustParseAddr("203.0.113.7")
	_, err := h.c.Submit(context.Background(), SubmitRequest{UserID: testUser, ClientIP: ip, Selfie: jpeg, Liveness: [][]byte{live1}})
	if !errors.Is(err, errSlowDown) {
		t.Fatalf("err = %v, want the limiter's error", err)
	}
	if gotUser != testUser || gotIP != ip {
		t.Errorf("limiter saw %q %v", gotUser, gotIP)
	}
	if uploads, _, _ := h.f.Counts(); uploads != 0 || h.c.Registry().(*Registry).Len() != 0 {
		t.Errorf("a refused submit spent something: uploads %d, registry %d", uploads, h.c.Registry().(*Registry).Len())
	}
}
