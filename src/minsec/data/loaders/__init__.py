"""One loader per publisher format. Each reads the publisher's original file layout and returns a tidy
:class:`pandas.DataFrame`; any unknown layout or broken row raises :class:`~minsec.data.errors.DataFormatError`
before anything is returned, so nothing is ever half-loaded."""
