# Vault Agent renders a FortiAnalyzer session into a file and keeps it fresh: it renews the
# lease while the session lives, and reads new creds when it cannot.
# Paths are relative to where it runs; put the token in ./vault-token, then:
#   cd examples/agent && vault agent -config=agent.hcl
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
  source      = "./faz-session.ctmpl"
  destination = "./faz-session"
  perms       = "0600"
}
