"""Reading lumbar spine DICOM studies: files → series → geometric stacks, roles, levels and laterality."""
