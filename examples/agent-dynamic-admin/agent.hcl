# Vault Agent renders a FortiAnalyzer admin made for this lease alone (a dynamic_admin role)
# into a JSON file an application reads: url, username, password. The application logs in
# itself (the role has with_session=false). The agent renews the lease while the admin exists;
# when it cannot (max_ttl reached, admin deleted upstream), it reads new creds, which make a
# new admin, and rewrites the file: the application must read it again when it changes. The
# old admin is deleted upstream when its lease ends.
# The role, as `make dev` writes it:
#   vault write forticloud/roles/demo-dynamic-app config=faz-key credential_type=dynamic_admin \
#     admin_profile=Standard_User adoms=soc trusted_hosts=127.0.0.0/8 with_session=false ttl=15m max_ttl=8h
# Paths are relative to where it runs; put the token in ./vault-token, then:
#   cd examples/agent-dynamic-admin && vault agent -config=agent.hcl
vault {
  address = "http://127.0.0.1:8200"
}

auto_auth {
  method "token_file" {
    config {
      token_file_path = "./vault-token"
    }
  }
}

template {
  source      = "./faz-admin.json.ctmpl"
  destination = "./faz-admin.json"
  perms       = "0600"
}
