package fortitest_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// BenchmarkLogin is one /sys/login/user, with open sessions of the same admin beside it: the
// fake's cost must not grow with them, or `make bench` measures the fake rather than the engine.
func BenchmarkLogin(b *testing.B) {
	body := []byte(`{"id":1,"method":"exec","params":[{"url":"/sys/login/user","data":[{"user":"admin","passwd":"pw-123456"}]}]}`)
	for _, open := range []int{0, 5000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			s := fortitest.NewServerT(b)
			s.AddAdmin("admin", "pw-123456")
			s.SetLoginMax(1 << 30)
			login := func() {
				resp, err := s.Client().Post(s.URL+"/jsonrpc", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			for range open {
				login()
			}
			for b.Loop() {
				login()
			}
		})
	}
}
