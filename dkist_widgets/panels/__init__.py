"""Widget panels: thin views over dkist_widgets.core.DatasetModel."""
