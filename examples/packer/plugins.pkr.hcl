# The plugins the template needs (Packer >= 1.7; from 1.10 on, the Amazon builder is a plugin and
# not part of Packer): `packer init .` installs them, then `packer build .` reads this file with
# gpu-image.pkr.hcl. Kept apart because Debian 12's packer 1.6.6 knows no required_plugins: it
# validates gpu-image.pkr.hcl alone (see README.md).
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.0"
    }
  }
}
