"""What a grading run writes: findings files, tables, report.md, overlays, heatmap volumes, run.json."""
