package caddymodule_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

const (
	smilePartner = "172"
	smileKey     = "SMILE-KEY-never-leaves-6d1e"
	// smileUploadSecret stands for the presigned query of an upload URL.
	smileUploadSecret = smilefake.UploadSecret
)

// smileSign is Smile ID's signature, computed independently of the client.
func smileSign(ts string) string { return smilefake.Sign(smileKey, smilePartner, ts) }

// newFakeSmileID is Smile ID for the selfie step-up at
// https://guard.example/verify.
func newFakeSmileID(t *testing.T) *smilefake.Server {
	return smilefake.NewServer(t, smilePartner, smileKey, "https://guard.example/verify/smileid/callback")
}

// smileCallback is a callback in the seed's shape.
func smileCallback(ts, sig, jobID, userID, code string) string {
	return string(smilefake.Callback(ts, sig, jobID, userID, code))
}

// testJPEG is a camera-sized JPEG, base64 encoded as the page sends it.
func testJPEG(t *testing.T, shade uint8) string {
	img := image.NewGray(image.Rect(0, 0, 96, 128))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
