// Command go-client shows an application using the engine: it reads a FortiAnalyzer session
// from Vault, calls the FortiAnalyzer JSON-RPC API with it, and gives the lease back when done,
// which logs the session out.
//
//	VAULT_ADDR=... VAULT_TOKEN=... go run ./examples/go-client -role demo -ca-cert faz-ca.pem
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	vault "github.com/hashicorp/vault/api"
)

func main() {
	mount := flag.String("mount", "forticloud", "where the engine is mounted")
	role := flag.String("role", "demo", "role to read creds from")
	caFile := flag.String("ca-cert", "", "PEM file of the CA that signed FortiAnalyzer's certificate")
	flag.Parse()
	if err := run(context.Background(), *mount, *role, *caFile); err != nil {
		fmt.Fprintln(os.Stderr, "go-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mount, role, caFile string) error {
	vc, err := vault.NewClient(vault.DefaultConfig()) // VAULT_ADDR, VAULT_TOKEN
	if err != nil {
		return err
	}
	secret, err := vc.Logical().ReadWithContext(ctx, mount+"/creds/"+role)
	if err != nil {
		return fmt.Errorf("read creds: %w", err)
	}
	if secret == nil {
		return fmt.Errorf("no creds at %s/creds/%s", mount, role)
	}
	// Give the session back when done: revoking the lease logs it out upstream.
	defer func() {
		if err := vc.Sys().RevokeWithContext(context.WithoutCancel(ctx), secret.LeaseID); err != nil {
			fmt.Fprintln(os.Stderr, "go-client: revoke:", err)
		}
	}()
	session, _ := secret.Data["session"].(string)
	url, _ := secret.Data["url"].(string)

	hc, err := httpClient(caFile)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"id": 1, "method": "get", "session": session,
		"params": []map[string]any{{"url": "/sys/status"}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/jsonrpc", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("call FortiAnalyzer: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result []struct {
			Status struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"status"`
			Data map[string]any `json:"data"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("read FortiAnalyzer's answer: %w", err)
	}
	if len(answer.Result) == 0 || answer.Result[0].Status.Code != 0 {
		return fmt.Errorf("FortiAnalyzer refused the call: %+v", answer.Result)
	}
	fmt.Printf("FortiAnalyzer %v (%v), lease %s for %s\n", answer.Result[0].Data["Hostname"],
		answer.Result[0].Data["Version"], secret.LeaseID, time.Duration(secret.LeaseDuration)*time.Second)
	return nil
}

func httpClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}
