export const aps1Register = undefined;
