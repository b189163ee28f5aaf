# Packer (1.6.6 and later, HCL2): a GPU image built as a tree on this machine, chroot-style, without
# booting anything. The `null` builder connects nowhere; its shell-local provisioner runs gpubase in
# image mode on a root tree (an mmdebstrap root, a mounted disk image's filesystem) that already has
# gpubase installed. Maintainer scripts, DKMS and the initramfs run chrooted into the tree, the
# reboot step and what follows run at the image's first boot (gpubase.service is enabled in it).
# Package the tree afterwards with your own post-processor or tool (tar, mkfs.ext4 -d, ...).
#   sudo packer build -var tree=/srv/images/gpu-root gpu-image-tree.pkr.hcl

variable "tree" {
  type        = string
  description = "the root directory of the image being built (it must have gpubase installed)"
}

variable "plan" {
  type        = string
  default     = "/usr/share/gpubase/plans/debian-12.yaml"
  description = "the plan, a file of this machine (its key_file/path inputs too)"
}

variable "plan_vars" {
  type        = list(string)
  default     = []
  description = "NAME=VALUE overrides of the plan's vars"
}

variable "gpubase" {
  type        = string
  default     = "gpubase"
  description = "the gpubase of this machine that provisions the tree"
}

source "null" "tree" {
  communicator = "none"
}

build {
  sources = ["source.null.tree"]

  # 0: everything ran in the tree; 3: first boot pending (the usual end of an image build)
  provisioner "shell-local" {
    inline_shebang   = "/bin/sh"
    environment_vars = ["GPUBASE_TREE=${var.tree}", "GPUBASE_PLAN=${var.plan}"]
    inline = [
      "rc=0; ${var.gpubase} --root \"$GPUBASE_TREE\" --image run ${join(" ", formatlist("--var '%s'", var.plan_vars))} \"$GPUBASE_PLAN\" || rc=$?",
      "case $rc in 0|3) ;; *) ${var.gpubase} --root \"$GPUBASE_TREE\" status; exit $rc ;; esac",
      "${var.gpubase} --root \"$GPUBASE_TREE\" status || [ $? -eq 3 ]",
    ]
  }
}
