package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// send sends req with hc and reads the answer whole; a status not among ok is an error that
// names what was asked and what the answer said.
func send(hc *http.Client, req *http.Request, what string, ok ...int) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ok, resp.StatusCode) {
		return nil, fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}
