# packer build -var-file=gpu-image.pkrvars.hcl gpu-image.pkr.hcl
region        = "us-east-1"
instance_type = "g6.xlarge"
ami_name      = "debian-12-gpu-open-595"
plan_file     = "debian-12.yaml"
# The shipped plans run as shipped (keys pinned by fingerprint; the keyring package is checked
# against its repository's signed index). Overrides of the plan's vars go here, e.g. "branch=580".
plan_vars = []
