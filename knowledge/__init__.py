"""The desk's knowledge: FAQ YAML, resources CSV and synonyms, with loading, validation, import and export."""
