"""Helpers behind the notebooks: each notebook imports these and only plots what they return."""
