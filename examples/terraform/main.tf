# Configures the engine with Terraform's Vault provider: the mount, a config and a role.
#   terraform init && terraform apply -var faz_password=... -var faz_ca_cert="$(cat ca.pem)"
terraform {
  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0"
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

resource "vault_mount" "forticloud" {
  path           = "forticloud"
  type           = "vault-plugin-secrets-forticloud"
  plugin_version = var.plugin_version
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
  })
}

resource "vault_generic_endpoint" "soc" {
  path                 = "${vault_mount.forticloud.path}/roles/soc"
  ignore_absent_fields = true
  data_json = jsonencode({
    config  = "faz"
    ttl     = "15m"
    max_ttl = "8h"
  })
  depends_on = [vault_generic_endpoint.faz]
}
