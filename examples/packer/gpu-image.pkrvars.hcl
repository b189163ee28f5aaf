# packer build -var-file=gpu-image.pkrvars.hcl gpu-image.pkr.hcl
region        = "us-east-1"
instance_type = "g6.xlarge"
ami_name      = "debian-12-gpu-open-595"
plan_file     = "debian-12.yaml"
# The shipped plans leave the keyring's sha256 unset (all zeros, refused with the real sum in the
# message): check the sum printed by a first run, then pin it here.
plan_vars = [
  "cuda_keyring_sha256=0000000000000000000000000000000000000000000000000000000000000000",
]
