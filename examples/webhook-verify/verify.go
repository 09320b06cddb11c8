// Verifies a payhub webhook (Standard Webhooks signature) with Go's standard library.
//
//	WEBHOOK_ID=… WEBHOOK_TIMESTAMP=… WEBHOOK_SIGNATURE=… go run verify.go whsec_… < body
//
// Exits 0 and prints "valid" when the signature verifies and the timestamp is
// within 5 minutes of now; exits 1 and prints "invalid" otherwise. In a web
// handler, pass the raw body (the exact bytes received).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

const toleranceS = 300

func verify(secret, msgID, timestamp, signatures string, body []byte, now time.Time) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if age := now.Unix() - ts; age > toleranceS || age < -toleranceS {
		return false // too old, or from the future: a replay
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	expected := mac.Sum(nil)
	// The header may carry several space-separated signatures (key rotation).
	for _, part := range strings.Fields(signatures) {
		version, value, found := strings.Cut(part, ",")
		if !found || version != "v1" {
			continue
		}
		given, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(given, expected) {
			return true
		}
	}
	return false
}

func main() {
	secret := ""
	if len(os.Args) > 1 {
		secret = os.Args[1]
	}
	body, err := io.ReadAll(os.Stdin)
	ok := err == nil && verify(secret, os.Getenv("WEBHOOK_ID"), os.Getenv("WEBHOOK_TIMESTAMP"),
		os.Getenv("WEBHOOK_SIGNATURE"), body, time.Now())
	if ok {
		fmt.Println("valid")
		os.Exit(0)
	}
	fmt.Println("invalid")
	os.Exit(1)
}
