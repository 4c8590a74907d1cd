package smileid

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// Submit runs the paid part of a step-up: it asks the Limiter (when set),
// generates the job id, registers it pending under req.UserID and
// req.StateHandle, then performs Smile ID's two-step submission:
//
//  1. POST {base}/v1/upload with the signed job description; the answer
//     carries a presigned upload_url and Smile ID's job number;
//  2. PUT a zip holding info.json (which carries the base64 images) to
//     that upload_url.
//
// The result arrives later through HandleCallback (or Confirm). On any
// failure the job is removed from the registry, so no callback can match
// it, and the error is returned; whether Smile ID charged for a job whose
// PUT failed is not knowable here, so it stays counted by the Limiter. A
// failure that proves no job was created (noJobCreated) is given back to
// a Limiter that is a Refunder.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (Submission, error) {
	if err := c.checkRequest(req); err != nil {
		return Submission{}, err
	}
	refund, err := c.admit(ctx, req)
	if err != nil {
		return Submission{}, fmt.Errorf("smileid: submit refused by limiter: %w", err)
	}
	jobID, err := c.newJobID()
	if err == nil {
		err = c.registry.Register(jobID, req.UserID, req.StateHandle)
	}
	if err != nil {
		// Nothing was sent.
		if refund != nil {
			refund(context.WithoutCancel(ctx))
		}
		return Submission{}, err
	}
	smileJobID, noJob, err := c.submit(ctx, jobID, req)
	if err != nil {
		c.registry.Remove(jobID)
		if noJob && refund != nil {
			refund(context.WithoutCancel(ctx))
		}
		return Submission{}, err
	}
	return Submission{JobID: jobID, SmileJobID: smileJobID}, nil
}

// admit asks the Limiter, if any; the refund is nil when it cannot give
// a submission back (see Refunder).
func (c *Client) admit(ctx context.Context, req SubmitRequest) (func(context.Context), error) {
	switch l := c.cfg.Limiter.(type) {
	case nil:
		return nil, nil
	case Refunder:
		return l.AdmitSubmit(ctx, req.UserID, req.ClientIP)
	default:
		return nil, l.AllowSubmit(ctx, req.UserID, req.ClientIP)
	}
}

// noJobCreated reports whether the upload request's failure proves that
// Smile ID created no job: no answer came (refused, timed out; not the
// caller giving up, which it may do at will), or a 5xx, or a 2xx without
// an upload_url. Then no upload URL came back and no image was sent. A
// 4xx (the request's content can provoke one), a redirect, an oversized
// answer or one naming an upload URL proves nothing of the kind.
func noJobCreated(ctx context.Context, err error, uploadURL string) bool {
	if ctx.Err() != nil {
		return false
	}
	var ve *VendorError
	if errors.As(err, &ve) {
		return ve.Status >= 500 && ve.Status <= 599
	}
	var te errTransport
	if errors.As(err, &te) {
		return true
	}
	return errors.Is(err, ErrBadResponse) && uploadURL == ""
}

// submit makes the two calls; noJob is true when it failed in a way that
// proves Smile ID created no job (noJobCreated).
func (c *Client) submit(ctx context.Context, jobID string, req SubmitRequest) (smileJobID string, noJob bool, err error) {
	pp := partnerParams{UserID: req.UserID, JobID: jobID, JobType: JobTypeSmartSelfieAuthentication}
	ts, sig := c.signer.Stamp()
	body, err := json.Marshal(uploadRequest{
		CallbackURL:      c.cfg.CallbackURL,
		FileName:         zipFileName,
		PartnerID:        c.cfg.PartnerID,
		PartnerParams:    pp,
		Signature:        sig,
		SmileClientID:    c.cfg.PartnerID,
		SourceSDK:        c.cfg.SourceSDK,
		SourceSDKVersion: c.cfg.SourceSDKVersion,
		Timestamp:        ts,
	})
	if err != nil {
		return "", true, fmt.Errorf("smileid: %s: encoding: %w", OpUpload, err)
	}
	var up uploadResponse
	raw, err := c.call(ctx, OpUpload, "POST", c.upload, "application/json", body, func(raw []byte) error {
		if err := json.Unmarshal(raw, &up); err != nil {
			return fmt.Errorf("smileid: %s: %w", OpUpload, ErrBadResponse)
		}
		if !validUploadURL(up.UploadURL) {
			return fmt.Errorf("smileid: %s: %w: upload_url missing or not https", OpUpload, ErrBadResponse)
		}
		return nil
	})
	if err != nil {
		return "", noJobCreated(ctx, err, up.UploadURL), err
	}
	zipped, err := c.buildZip(infoJSON{
		PackageInformation: packageInformation{
			APIVersion: apiVersion{BuildNumber: 0, MajorVersion: 2, MinorVersion: 0},
			Language:   "golang",
		},
		MiscInformation: miscInformation{
			Signature:     sig,
			Retry:         "false",
			PartnerParams: pp,
			Timestamp:     ts,
			FileName:      zipFileName,
			SmileClientID: c.cfg.PartnerID,
			CallbackURL:   c.cfg.CallbackURL,
			UserData:      userData{CountryCode: "+"},
		},
		IDInfo:            idInfo{Entered: "false"},
		Images:            images(req),
		ServerInformation: json.RawMessage(raw),
	})
	if err != nil {
		return "", false, err
	}
	if _, err := c.call(ctx, OpZipPut, "PUT", up.UploadURL, "application/zip", zipped, nil); err != nil {
		return "", false, err
	}
	return up.SmileJobID, false, nil
}

// images lists the selfie (type 2) then the liveness frames (type 6),
// base64 encoded, file_name "" as the SDKs send for base64 images.
func images(req SubmitRequest) []infoImage {
	out := make([]infoImage, 0, 1+len(req.Liveness))
	out = append(out, infoImage{ImageTypeID: imageSelfieBase64, Image: base64.StdEncoding.EncodeToString(req.Selfie)})
	for _, l := range req.Liveness {
		out = append(out, infoImage{ImageTypeID: imageLivenessBase64, Image: base64.StdEncoding.EncodeToString(l)})
	}
	return out
}

// buildZip writes info.json, deflated, as the zip's only entry.
func (c *Client) buildZip(info infoJSON) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "info.json", Method: zip.Deflate, Modified: c.cfg.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("smileid: building zip: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(info); err != nil {
		return nil, fmt.Errorf("smileid: building zip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("smileid: building zip: %w", err)
	}
	return buf.Bytes(), nil
}

// checkRequest enforces the request's caps before anything is spent.
func (c *Client) checkRequest(req SubmitRequest) error {
	if req.UserID == "" || len(req.UserID) > MaxUserIDLen || !printable(req.UserID) {
		return fmt.Errorf("%w: user id empty, too long or not printable", ErrInput)
	}
	if len(req.StateHandle) > MaxStateHandleLen {
		return fmt.Errorf("%w: state handle too long", ErrInput)
	}
	if !isImage(req.Selfie) {
		return fmt.Errorf("%w: selfie is not a JPEG or PNG image", ErrInput)
	}
	if len(req.Liveness) == 0 && !c.cfg.LivenessOptional {
		return fmt.Errorf("%w: liveness images are required", ErrInput)
	}
	if len(req.Liveness) > c.cfg.MaxLivenessImages {
		return fmt.Errorf("%w: more than %d liveness images", ErrInput, c.cfg.MaxLivenessImages)
	}
	total := len(req.Selfie)
	if len(req.Selfie) > c.cfg.MaxImageBytes {
		return fmt.Errorf("%w: selfie exceeds %d bytes", ErrInput, c.cfg.MaxImageBytes)
	}
	for i, l := range req.Liveness {
		if !isImage(l) {
			return fmt.Errorf("%w: liveness image %d is not a JPEG or PNG image", ErrInput, i)
		}
		if len(l) > c.cfg.MaxImageBytes {
			return fmt.Errorf("%w: liveness image %d exceeds %d bytes", ErrInput, i, c.cfg.MaxImageBytes)
		}
		total += len(l)
	}
	if total > c.cfg.MaxTotalImageBytes {
		return fmt.Errorf("%w: images exceed %d bytes together", ErrInput, c.cfg.MaxTotalImageBytes)
	}
	return nil
}

// isImage checks the JPEG or PNG signature: what Smile ID accepts, and a
// cheap guard against sending the browser's garbage to a paid API.
func isImage(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) ||
		bytes.HasPrefix(b, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// validUploadURL accepts only an absolute https URL without user info:
// the images and the signature go there.
func validUploadURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// newJobID returns 128 random bits as 32 lowercase hex digits.
func (c *Client) newJobID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(c.random, b[:]); err != nil {
		return "", fmt.Errorf("smileid: generating job id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
