# A Debian 12 GPU image (AMI) built with gpubase: the plan runs in the build instance, the
# orchestration around gpubase's exit codes is Packer's. gpubase is installed from its .deb
# (`make deb`) with the packages it depends on. Build with
#   packer init . && packer build -var-file=gpu-image.pkrvars.hcl .
# (plugins.pkr.hcl: the Amazon plugin). Debian 12's packer 1.6.6 validates this file alone:
#   packer validate -var-file=gpu-image.pkrvars.hcl gpu-image.pkr.hcl
# The provisioners run the scripts in scripts/, in this order; tests/integration/examples.sh runs
# the same scripts in a --root sandbox, and the e2e tier in a VM (tests/e2e/packer-steps.sh).

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "instance_type" {
  type        = string
  default     = "g6.xlarge"
  description = "A GPU instance: the plan's preflight gate wants an NVIDIA GPU on the PCI bus."
}

variable "ami_name" {
  type    = string
  default = "debian-12-gpu-gpubase"
}

variable "gpubase_deb" {
  type        = string
  default     = ""
  description = "The gpubase package to install (make deb); empty: build/gpubase_0.1.0_amd64.deb of this source tree."
}

variable "plan_dir" {
  type        = string
  default     = ""
  description = "The directory with the plan (and what it refers to by $${plan_dir}); empty: plans/ of this tree."
}

variable "plan_file" {
  type    = string
  default = "debian-12.yaml"
}

variable "plan_vars" {
  type        = list(string)
  default     = []
  description = "NAME=VALUE overrides of the plan's vars (gpubase --var), e.g. branch=580."
}

variable "run_timeout" {
  type    = string
  default = "1800"
}

locals {
  deb      = var.gpubase_deb != "" ? var.gpubase_deb : "${path.root}/../../build/gpubase_0.1.0_amd64.deb"
  plans    = var.plan_dir != "" ? var.plan_dir : "${path.root}/../../plans"
  gpu_vars = join(" ", var.plan_vars)
  # every script gets the same environment; sudo -E keeps it
  env = [
    "GPUBASE_PLAN_FILE=${var.plan_file}",
    "GPUBASE_PLAN_VARS=${local.gpu_vars}",
    "GPUBASE_WAIT_TIMEOUT=${var.run_timeout}",
  ]
  sudo = "chmod +x {{ .Path }}; sudo -E env {{ .Vars }} {{ .Path }}"
}

source "amazon-ebs" "gpu" {
  region        = var.region
  instance_type = var.instance_type
  ami_name      = var.ami_name
  ssh_username  = "admin"

  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["136693071363"] # Debian
    most_recent = true
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 40
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }
}

build {
  sources = ["source.amazon-ebs.gpu"]

  # 1. upload gpubase's package and the plans; 10-install.sh installs the package with apt-get,
  #    which brings the libraries it depends on
  provisioner "shell" {
    inline = ["mkdir -p /tmp/gpubase-upload"]
  }
  provisioner "file" {
    source      = local.deb
    destination = "/tmp/gpubase-upload/gpubase.deb"
  }
  provisioner "file" {
    source      = "${local.plans}/"
    destination = "/tmp/gpubase-upload/plans"
  }
  provisioner "shell" {
    environment_vars = local.env
    execute_command  = local.sudo
    script           = "${path.root}/scripts/10-install.sh"
  }

  # 2. run the plan; exit 3 means "reboot the machine, then resume". The script has its own
  #    #!/bin/bash (no -e), so an exit code is handled, not a reason to stop half way.
  provisioner "shell" {
    environment_vars = local.env
    execute_command  = local.sudo
    script           = "${path.root}/scripts/20-run.sh"
    valid_exit_codes = [0, 3]
  }

  # 3. reboot when gpubase asked for one (gpubase status exits 3); the connection drops
  provisioner "shell" {
    environment_vars  = local.env
    execute_command   = local.sudo
    script            = "${path.root}/scripts/30-reboot-if-pending.sh"
    expect_disconnect = true
    skip_clean        = true
  }

  # 4. after the reboot: go on, and wait for the run to finish
  provisioner "shell" {
    pause_before     = "30s"
    environment_vars = local.env
    execute_command  = local.sudo
    script           = "${path.root}/scripts/40-resume.sh"
  }

  # 5. every GPU-stack check (2: warnings only), and a support report kept with the build
  provisioner "shell" {
    environment_vars = local.env
    execute_command  = local.sudo
    script           = "${path.root}/scripts/50-verify.sh"
    valid_exit_codes = [0, 2]
  }
  provisioner "file" {
    direction   = "download"
    source      = "/var/tmp/gpubase-report.tar.gz"
    destination = "${path.root}/gpubase-report-${var.ami_name}.tar.gz"
  }

  # 6. an image, not a machine: forget the run, the machine id, caches and logs
  provisioner "shell" {
    environment_vars = local.env
    execute_command  = local.sudo
    script           = "${path.root}/scripts/60-cleanup.sh"
  }
}
