package acs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// contentHash is base64(SHA-256(body)), the x-ms-content-sha256 header.
func contentHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// stringToSign is what the HMAC covers: the method, the request target as
// sent, and the signed headers x-ms-date, host and x-ms-content-sha256.
func stringToSign(method, pathAndQuery, date, host, hash string) string {
	return method + "\n" + pathAndQuery + "\n" + date + ";" + host + ";" + hash
}

// signature is base64(HMAC-SHA256(key, s)).
func signature(key []byte, s string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signRequest sets the HMAC headers of req, whose body is body, at now.
func signRequest(req *http.Request, key, body []byte, now time.Time) {
	date := now.UTC().Format(http.TimeFormat)
	hash := contentHash(body)
	sig := signature(key, stringToSign(req.Method, req.URL.RequestURI(), date, req.URL.Host, hash))
	req.Header.Set("x-ms-date", date)
	req.Header.Set("x-ms-content-sha256", hash)
	req.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="+sig)
}

// hmacPolicy signs every request with the resource's access key.
type hmacPolicy struct {
	key []byte
	now func() time.Time
}

func (p *hmacPolicy) Do(req *policy.Request) (*http.Response, error) {
	var body []byte
	if b := req.Body(); b != nil {
		var err error
		if body, err = io.ReadAll(b); err != nil {
			return nil, fmt.Errorf("read body to sign: %w", err)
		}
		if err := req.RewindBody(); err != nil {
			return nil, fmt.Errorf("rewind body: %w", err)
		}
	}
	signRequest(req.Raw(), p.key, body, p.now())
	return req.Next()
}
