module lab.ovirt-kubevirt.test/cdi

go 1.24.0

require kubevirt.io/containerized-data-importer v1.64.0
