"""What only the Gradio app uses, as plain functions on plain values: the actions behind every widget, the
checkpoint list, the model card, the Compare tab's browsing and the overlays. `app.py` wires them to widgets;
nothing here imports Gradio, and nothing in the library imports this package."""
