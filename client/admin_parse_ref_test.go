package client

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"net/netip"
	"strings"
)

// The admin parser as it was before it read its answer in one decode (admin_parse.go): each
// field decoded on its own from a map of raw fields. FuzzParseAdmin checks that ParseAdmin gives
// the answers it gives, or where documented a stricter one.

// refParseAdmin is ParseAdmin as it was.
func refParseAdmin(data []byte) (*Admin, error) {
	obj, err := refAdminObject(data)
	if err != nil {
		return nil, err
	}
	a := &Admin{}
	for _, f := range []struct {
		name string
		to   *string
	}{{"userid", &a.Name}, {"profileid", &a.Profile}, {"adom-access", &a.ADOMAccess}, {"rpc-permit", &a.RPCPermit}} {
		if *f.to, err = refStringField(obj, f.name); err != nil {
			return nil, err
		}
	}
	if a.Name == "" {
		return nil, &adminFieldError{"userid", missing}
	}
	if a.ADOMs, err = refParseADOMs(obj["adom"]); err != nil {
		return nil, err
	}
	if a.TrustedHosts, err = refParseTrustedHosts(obj); err != nil {
		return nil, err
	}
	return a, nil
}

// refAdminObject is data's one object, its fields raw.
func refAdminObject(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil || len(list) != 1 {
			return nil, &adminFieldError{"admin", notObject}
		}
		data = bytes.TrimSpace(list[0])
	}
	var obj map[string]json.RawMessage
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &obj) != nil {
		return nil, &adminFieldError{"admin", notObject}
	}
	return obj, nil
}

// refIsNull reports whether raw is absent or JSON null.
func refIsNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// refStringField reads a string field; absent or null is "".
func refStringField(obj map[string]json.RawMessage, name string) (string, error) {
	if refIsNull(obj[name]) {
		return "", nil
	}
	var s string
	if json.Unmarshal(obj[name], &s) != nil {
		return "", &adminFieldError{name, notString}
	}
	return s, nil
}

// refParseADOMs reads the adom field: a list of {"adom-name": n} or of names, or one name.
func refParseADOMs(raw json.RawMessage) ([]string, error) {
	if refIsNull(raw) {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, &adminFieldError{"adom", notADOMList}
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		var name string
		if json.Unmarshal(item, &name) != nil {
			var obj struct {
				Name *string `json:"adom-name"`
			}
			if json.Unmarshal(item, &obj) != nil || obj.Name == nil {
				return nil, &adminFieldError{"adom", notADOMList}
			}
			name = *obj.Name
		}
		out = append(out, name)
	}
	return out, nil
}

// refParseTrustedHosts reads both families' slots, in slot order, without the "none" ones.
func refParseTrustedHosts(obj map[string]json.RawMessage) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i := 1; i <= MaxTrustedHosts; i++ {
		p, err := refParseHost4(obj[host4Field(i)], i)
		if err != nil {
			return nil, err
		}
		if p != noneHost4 {
			out = append(out, p)
		}
	}
	for i := 1; i <= MaxTrustedHosts; i++ {
		p, err := refParseHost6(obj[host6Field(i)], i)
		if err != nil {
			return nil, err
		}
		if p != noneHost6 {
			out = append(out, p)
		}
	}
	return out, nil
}

// refSlotDefault is slot i's value when the answer leaves it out.
func refSlotDefault(i int, anyHost, none netip.Prefix) netip.Prefix {
	if i == 1 {
		return anyHost
	}
	return none
}

// refParseHost4 reads trusthost<i>: "<ip> <mask>", "<ip>/<len>" or [ip, mask], masked.
func refParseHost4(raw json.RawMessage, i int) (netip.Prefix, error) {
	if refIsNull(raw) {
		return refSlotDefault(i, anyHost4, noneHost4), nil
	}
	bad := &adminFieldError{host4Field(i), notHost4}
	var parts []string
	var s string
	if json.Unmarshal(raw, &s) == nil {
		parts = strings.Fields(s)
	} else if json.Unmarshal(raw, &parts) != nil {
		return netip.Prefix{}, bad
	}
	var p netip.Prefix
	switch len(parts) {
	case 1:
		var err error
		if p, err = netip.ParsePrefix(parts[0]); err != nil {
			return netip.Prefix{}, bad
		}
	case 2:
		addr, err1 := netip.ParseAddr(parts[0])
		mask, err2 := netip.ParseAddr(parts[1])
		if err1 != nil || err2 != nil || !mask.Is4() {
			return netip.Prefix{}, bad
		}
		m := binary.BigEndian.Uint32(mask.AsSlice())
		ones := bits.OnesCount32(m)
		if m != ^uint32(0)<<(32-ones) {
			return netip.Prefix{}, bad
		}
		p = netip.PrefixFrom(addr, ones)
	default:
		return netip.Prefix{}, bad
	}
	if !p.IsValid() || !p.Addr().Is4() {
		return netip.Prefix{}, bad
	}
	return p.Masked(), nil
}

// refParseHost6 reads ipv6_trusthost<i>: "<ip6>/<len>", masked.
func refParseHost6(raw json.RawMessage, i int) (netip.Prefix, error) {
	if refIsNull(raw) {
		return refSlotDefault(i, anyHost6, noneHost6), nil
	}
	bad := &adminFieldError{host6Field(i), notHost6}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return netip.Prefix{}, bad
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || !p.Addr().Is6() || p.Addr().Zone() != "" {
		return netip.Prefix{}, bad
	}
	return p.Masked(), nil
}
