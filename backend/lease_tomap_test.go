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
		Config: "c", Role: "r", Type: "fortianalyzer", AuthMethod: "local_user", URL: "https://h",
		AuthURL: "https://a", ClientID: "id", CACert: "pem", TLSServerName: "n", TLSSkipVerify: true,
		RequestTimeout: 30, Session: "s", AccessToken: "t", ExpiresAt: 1, Shared: true, APIID: "api", Take: "k",
		IssuedAt: 2, Instance: "i", RenewProbe: "cli_status", TTL: 3, MaxTTL: 4,
	}
	// Every field set: a field added to leaseInternal and not to toMap fails here.
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test's full lease leaves %s unset", v.Type().Field(i).Name)
		}
	}
	for _, l := range []leaseInternal{full, {}, {Config: "c", Type: "fortilan", AuthMethod: "email_user", AccessToken: "t"}} {
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
