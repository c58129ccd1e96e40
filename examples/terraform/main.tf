# Configures the engine with Terraform's Vault provider: the plugin version, the mount, a config
# and a role. Register the plugin binary first (docs/guide.md, Install), then:
#   terraform init && terraform apply -var faz_password=... -var faz_ca_cert="$(cat ca.pem)"
# (on Vault 1.15, add -var pin_plugin_version=false: see that variable).
# An upgrade: register the new binary, apply with -var plugin_version=<new>, then
#   vault plugin reload -type=secret -plugin=vault-plugin-secrets-forticloud -scope=global
terraform {
  required_providers {
    vault = {
      source = "hashicorp/vault"
      # Only vault_mount and vault_generic_endpoint are used: any provider since 1.9 will do.
      version = ">= 1.9.0"
    }
  }
}

variable "faz_url" {
  type    = string
  default = "https://faz.example.com"
}
variable "faz_username" {
  type    = string
  default = "vault-api"
}
variable "faz_password" {
  type      = string
  sensitive = true
}
variable "faz_ca_cert" {
  type    = string
  default = ""
}
variable "plugin_version" {
  type    = string
  default = "v0.1.0"
}

# Vault 1.15 has no plugin version pins: there the pin's write fails with 404 "unsupported
# path". Set this to false on it, and plugin_version is this mount's own version instead.
variable "pin_plugin_version" {
  type    = bool
  default = true
}

# The version every mount of the plugin runs (Vault 1.16 or newer; a pin overrides a mount's
# own version): an upgrade is one variable for every mount, and any provider version can set it.
resource "vault_generic_endpoint" "plugin_pin" {
  count                = var.pin_plugin_version ? 1 : 0
  path                 = "sys/plugins/pins/secret/vault-plugin-secrets-forticloud"
  ignore_absent_fields = true
  data_json            = jsonencode({ version = var.plugin_version })
}

resource "vault_mount" "forticloud" {
  path       = "forticloud"
  type       = "vault-plugin-secrets-forticloud"
  depends_on = [vault_generic_endpoint.plugin_pin]
}

# Without a pin: the version this mount runs (`vault secrets tune -plugin-version`). A tune is
# not deleted: the mount goes with its own resource.
resource "vault_generic_endpoint" "mount_version" {
  count                = var.pin_plugin_version ? 0 : 1
  path                 = "sys/mounts/${vault_mount.forticloud.path}/tune"
  ignore_absent_fields = true
  disable_delete       = true
  data_json            = jsonencode({ plugin_version = var.plugin_version })
}

resource "vault_generic_endpoint" "faz" {
  path                 = "${vault_mount.forticloud.path}/config/faz"
  ignore_absent_fields = true
  disable_read         = true # the read never returns the password: don't diff against it
  data_json = jsonencode({
    type        = "fortianalyzer"
    url         = var.faz_url
    auth_method = "local_user"
    username    = var.faz_username
    password    = var.faz_password
    ca_cert     = var.faz_ca_cert
    # Rotate the admin's password every Sunday at 03:00 UTC (starting within 2 hours), so that
    # only Vault knows it: Vault Enterprise's rotation manager runs the schedule, and on
    # Community edition the engine itself. After the first rotation var.faz_password no longer
    # logs in, and a write that gives it is refused: before changing anything else here, take
    # `password` out of this map (a write without it keeps the stored one). Never write the old
    # one with verify_connection = false: it would replace the only working password.
    rotation_schedule = "0 3 * * 0"
    rotation_window   = 7200
  })
}

resource "vault_generic_endpoint" "soc" {
  path                 = "${vault_mount.forticloud.path}/roles/soc"
  ignore_absent_fields = true
  data_json = jsonencode({
    config  = "faz"
    ttl     = 900   # 15m, in seconds as the role reads back, so a plan shows no drift
    max_ttl = 28800 # 8h
  })
  depends_on = [vault_generic_endpoint.faz]
}

# A FortiGate, when fgt_api_key is given: the key of a REST API admin (fgt_username) whose
# accprofile may manage administrators (docs/guide.md, FortiGate). Each lease of the role is a
# REST API admin of its own, read-only and usable from the CI network only.
variable "fgt_url" {
  type    = string
  default = "https://fw1.example.com:8443"
}
variable "fgt_username" {
  type    = string
  default = "vault-root"
}
variable "fgt_api_key" {
  type      = string
  sensitive = true
  default   = ""
}
variable "fgt_ca_cert" {
  type    = string
  default = ""
}
variable "fgt_trusted_hosts" {
  type    = list(string)
  default = ["10.30.0.0/16"]
}

resource "vault_generic_endpoint" "fw1" {
  count                = var.fgt_api_key == "" ? 0 : 1
  path                 = "${vault_mount.forticloud.path}/config/fw1"
  ignore_absent_fields = true
  disable_read         = true # the read never returns the key: don't diff against it
  # The engine refuses to delete a config while api-users it made live (revoking them needs its
  # key). A destroy removes the mount, which revokes every lease, and the config with it; to
  # drop only this config, `vault lease revoke -prefix forticloud/creds/ci-readonly` first.
  disable_delete = true
  data_json = jsonencode({
    type     = "fortigate"
    url      = var.fgt_url
    username = var.fgt_username
    api_key  = var.fgt_api_key
    ca_cert  = var.fgt_ca_cert
  })
}

resource "vault_generic_endpoint" "ci_readonly" {
  count                = var.fgt_api_key == "" ? 0 : 1
  path                 = "${vault_mount.forticloud.path}/roles/ci-readonly"
  ignore_absent_fields = true
  data_json = jsonencode({
    config        = "fw1"
    admin_profile = "read_only"
    vdoms         = ["root"]
    trusted_hosts = var.fgt_trusted_hosts
    ttl           = 1800  # 30m
    max_ttl       = 14400 # 4h
  })
  depends_on = [vault_generic_endpoint.fw1]
}
