"""Data layer: one loader per publisher format, the material catalogue, country groups, the bundled dataset."""
