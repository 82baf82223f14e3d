"""Explanations of the graders' decisions: Integrated Gradients attributions and heatmap volumes."""
