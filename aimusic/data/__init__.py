"""Building the melody training corpus: parsing scores, finding chords, writing the dataset."""
