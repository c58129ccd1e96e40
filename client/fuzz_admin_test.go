package client

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// adminParseTexts are every text an adminFieldError may carry after its field's name.
var adminParseTexts = map[string]bool{notObject: true, notString: true, missing: true, notADOMList: true, notHost4: true, notHost6: true}

// adminParseField reports whether field is one ParseAdmin reads.
func adminParseField(field string) bool {
	switch field {
	case "admin", "userid", "profileid", "adom-access", "rpc-permit", "adom":
		return true
	}
	for i := 1; i <= MaxTrustedHosts; i++ {
		if field == host4Field(i) || field == host6Field(i) {
			return true
		}
	}
	return false
}

func FuzzParseAdmin(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAdmin(data)
		if err != nil {
			var fe *adminFieldError
			if a != nil || !errors.As(err, &fe) || !adminParseField(fe.field) || !adminParseTexts[fe.what] {
				t.Fatalf("ParseAdmin = %+v, %v: want no admin and a fixed text naming a field", a, err)
			}
			return
		}
		if a == nil || a.Name == "" || a.Password != "" {
			t.Fatalf("ParseAdmin = %+v", a)
		}
		var n4, n6 int
		for _, p := range a.TrustedHosts {
			if !p.IsValid() || p != p.Masked() || p == noneHost4 || p == noneHost6 {
				t.Fatalf("trusted host %v: invalid, not masked, or none", p)
			}
			if p.Addr().Is4() {
				n4++
			} else {
				n6++
			}
		}
		if n4 > MaxTrustedHosts || n6 > MaxTrustedHosts {
			t.Fatalf("%d IPv4 and %d IPv6 trusted hosts", n4, n6)
		}
		// What was read survives a round trip through the shape AddAdmin sends.
		canon := map[string]any{"userid": a.Name, "profileid": a.Profile, "adom-access": a.ADOMAccess, "rpc-permit": a.RPCPermit}
		adoms := make([]map[string]string, len(a.ADOMs))
		for i, d := range a.ADOMs {
			adoms[i] = map[string]string{"adom-name": d}
		}
		canon["adom"] = adoms
		for k, v := range trustHostSlots(a.TrustedHosts) {
			canon[k] = v
		}
		raw, err := json.Marshal(canon)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseAdmin(raw)
		if err != nil || again.Name != a.Name || again.Profile != a.Profile || again.ADOMAccess != a.ADOMAccess ||
			again.RPCPermit != a.RPCPermit || !slices.Equal(again.ADOMs, a.ADOMs) ||
			!slices.EqualFunc(again.TrustedHosts, a.TrustedHosts, func(x, y netip.Prefix) bool { return x == y }) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, a)
		}
	})
}
