package backend

import (
	"encoding/json"
	"reflect"
	"testing"
)

// toMap is written out field by field: it must say what json.Marshal would, for every field,
// set or not.
func TestLeaseToMapMatchesJSON(t *testing.T) {
	full := leaseInternal{
		Config: "c", Role: "r",
		endpoint: endpoint{Type: "fortianalyzer", AuthMethod: "local_user", URL: "https://h",
			AuthURL: "https://a", ClientID: "id", CACert: "pem", TLSServerName: "n", TLSSkipVerify: true,
			RequestTimeout: 30},
		CredentialType: "dynamic_admin", Admin: "a", Claim: "k",
		Session: "s", AccessToken: "t", ExpiresAt: 1, Shared: true, APIID: "api", Take: "k",
		IssuedAt: 2, Instance: "i", RenewProbe: "cli_status", TTL: 3, MaxTTL: 4,
	}
	// Every field set, in embedded structs too: a field added to leaseInternal and not to toMap
	// fails here.
	var everySet func(v reflect.Value)
	everySet = func(v reflect.Value) {
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.Anonymous {
				everySet(v.Field(i))
			} else if v.Field(i).IsZero() {
				t.Fatalf("the test's full lease leaves %s unset", f.Name)
			}
		}
	}
	everySet(reflect.ValueOf(full))
	lan := leaseInternal{Config: "c", endpoint: endpoint{Type: "fortilan", AuthMethod: "email_user"}, AccessToken: "t"}
	for _, l := range []leaseInternal{full, {}, lan} {
		want := map[string]any{}
		b, _ := json.Marshal(l)
		_ = json.Unmarshal(b, &want)
		got := map[string]any{}
		b, _ = json.Marshal(l.toMap())
		_ = json.Unmarshal(b, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("toMap(%+v) =\n%v\nwant\n%v", l, got, want)
		}
	}
}
