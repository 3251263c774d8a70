// @kestrel/quantize: work in progress; its modules land in a later submission.
export {};
