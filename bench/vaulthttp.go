package main

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// vaultHTTP sends the measured requests: a plain keep-alive client, so that what is measured
// is Vault and the plugin rather than a client library.
type vaultHTTP struct {
	addr string
	hc   *http.Client
}

func newVaultHTTP(addr string) *vaultHTTP {
	return &vaultHTTP{addr: addr, hc: &http.Client{Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     10 * time.Minute,
		DisableCompression:  true,
	}, Timeout: 30 * time.Minute}}
}

// do sends one request and reads the answer whole; any status but 200, 202 and 204 is an error.
func (v *vaultHTTP) do(method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, v.addr+"/v1/"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", rootToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(v.hc, req, method+" "+path, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
}

func (v *vaultHTTP) read(path string) error {
	_, err := v.do(http.MethodGet, path, nil)
	return err
}
