/**
 * `agentripe` scenarios: buyers pay through x402, vendors act through `/vendor/*`, the escrow and
 * the registries are read on chain, and every outcome is compared with the pure model (model.ts).
 * The review verdict is what the server reports; the model follows it, so a target with any
 * reviewer can be certified (the review fixture rejects results containing REJECT-ME and approves
 * honest ones). One group per file: tasks.ts, payments.ts, auth.ts, escrow.ts, agents.ts, faults.ts, restart.ts.
 */
import { agentStats, agentUriUpdate, buyerRoutes, registrationValidation, reputationFeedback, restRegistration } from './agents.ts';
import { apiKeys, foreignCredentials, vendorAuth, walletChange } from './auth.ts';
import { reclaim, reclaimRestart, vendorRoles } from './escrow.ts';
import { faultScenarios } from './faults.ts';
import { restartScenarios } from './restart.ts';
import { badPayments, unknownService, zeroPrice } from './payments.ts';
import { paymentReorg, paymentReorgReceiptsDown } from './reorg.ts';
import { robustness } from './robustness.ts';
import { completedWithoutReview, fifthRejection, happyPath, lifecycleModel, races, rejections, vendorFailure } from './tasks.ts';

export const agentripeScenarios = [
  happyPath,
  completedWithoutReview,
  rejections,
  fifthRejection,
  vendorFailure,
  lifecycleModel,
  races,
  badPayments,
  unknownService,
  zeroPrice,
  foreignCredentials,
  vendorAuth,
  vendorRoles,
  walletChange,
  apiKeys,
  buyerRoutes,
  restRegistration,
  registrationValidation,
  agentUriUpdate,
  agentStats,
  reputationFeedback,
  reclaim,
  reclaimRestart,
  paymentReorg,
  paymentReorgReceiptsDown,
  robustness,
  ...faultScenarios,
  ...restartScenarios,
];
